// Runs Kafka's own command-line tools (their main classes, as kafka-topics.sh & co. do) in one JVM,
// one command per input line, so that a test drives many tools without a JVM start each.
//
// Input: one command per line, tab-separated: the tool's main class, then its arguments.
// Output: one JSON line per command: {"exit": N, "out": "...", "err": "..."}; exit is the first
// status the tool asked for through Kafka's Exit (0 when main returned), or 99 when it threw.
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Exit;

public final class EbAdminTools {
  private static final class ExitCalled extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    ExitCalled(int status) {
      super("exit " + status);
      this.status = status;
    }
  }

  // The tools write to System.out / Scala's Console (captured once): one stream whose target moves.
  private static final class Switch extends OutputStream {
    volatile OutputStream target;

    Switch(OutputStream target) {
      this.target = target;
    }

    @Override
    public void write(int b) throws java.io.IOException {
      target.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws java.io.IOException {
      target.write(b, off, len);
    }
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"').toString();
  }

  private static volatile Integer firstExit;

  public static void main(String[] args) throws Exception {
    PrintStream results = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out),
                                          true, "UTF-8");
    Switch out = new Switch(System.out);
    Switch err = new Switch(System.err);
    System.setOut(new PrintStream(out, true, "UTF-8"));
    System.setErr(new PrintStream(err, true, "UTF-8"));
    // A tool may catch what the exit throws (TopicCommand does): the first status asked counts.
    Exit.setExitProcedure((status, message) -> {
      if (firstExit == null) firstExit = status;
      throw new ExitCalled(status);
    });
    Exit.setHaltProcedure((status, message) -> {
      if (firstExit == null) firstExit = status;
      throw new ExitCalled(status);
    });
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t", -1);
      String[] toolArgs = java.util.Arrays.copyOfRange(parts, 1, parts.length);
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      ByteArrayOutputStream e = new ByteArrayOutputStream();
      out.target = o;
      err.target = e;
      int status = 0;
      firstExit = null;
      try {
        Class.forName(parts[0]).getMethod("main", String[].class).invoke(null, (Object) toolArgs);
      } catch (InvocationTargetException ite) {
        Throwable cause = ite.getCause();
        if (cause instanceof ExitCalled) {
          status = ((ExitCalled) cause).status;
        } else {
          status = 99;
          cause.printStackTrace(new PrintStream(e, true, "UTF-8"));
        }
      } catch (ExitCalled x) {
        status = x.status;
      } catch (Throwable t) {
        status = 99;
        t.printStackTrace(new PrintStream(e, true, "UTF-8"));
      }
      if (firstExit != null) status = firstExit;
      System.out.flush();
      System.err.flush();
      results.println("{\"exit\": " + status + ", \"out\": "
                      + json(o.toString(StandardCharsets.UTF_8)) + ", \"err\": "
                      + json(e.toString(StandardCharsets.UTF_8)) + "}");
    }
  }
}
