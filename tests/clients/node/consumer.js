#!/usr/bin/env node
// kafkajs group consumer: default settings except fromBeginning: true on subscribe, without which a
// new group skips everything produced before it joined.
//
// usage: consumer.js BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]
// Subscribes GROUP to TOPIC, prints each record as a JSON line (topic, partition, offset, key, value,
// headers) until COUNT records or the timeout, commits the offsets after what it printed with
// commitOffsets (the default auto-commit stays on as well), leaves the group and prints one JSON
// summary line. Exit 1 unless COUNT records were consumed and the commit succeeded.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const CLIENT = 'kafkajs';

function text(b) {
  return b === null || b === undefined ? null : b.toString('utf8');
}

async function main() {
  const [bootstrap, topic, group, countArg, timeoutArg] = process.argv.slice(2);
  if (!countArg) {
    console.error('usage: consumer.js BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]');
    process.exit(2);
  }
  const count = Number(countArg);
  const timeoutMs = (timeoutArg ? Number(timeoutArg) : 120) * 1000;
  const start = process.hrtime.bigint();
  const summary = { client: CLIENT, count, consumed: 0, errors: 0, first_error: null,
                    committed: false, seconds: 0 };
  const lines = [];
  const next = new Map(); // partition -> offset after the last printed record
  let finished = false;
  const finish = (code) => {
    if (finished) return;
    finished = true;
    summary.seconds = Math.round(Number(process.hrtime.bigint() - start) / 1e6) / 1000;
    lines.push(JSON.stringify(summary));
    process.stdout.write(lines.join('\n') + '\n', () => process.exit(code));
  };

  const logCreator = () => ({ level, log }) => {
    if (level <= logLevel.WARN) process.stderr.write(JSON.stringify(log) + '\n');
  };
  const kafka = new Kafka({ brokers: [bootstrap], logCreator, ...require('./security')() });
  const consumer = kafka.consumer({ groupId: group });

  let reached;
  const allConsumed = new Promise((resolve) => { reached = resolve; });
  const timer = setTimeout(() => reached(false), timeoutMs);
  // connect() and disconnect() retry on their own for longer than that: a last resort.
  setTimeout(() => {
    summary.first_error = summary.first_error || `stuck ${timeoutMs / 1000 + 15} s`;
    finish(1);
  }, timeoutMs + 15000).unref();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        if (summary.consumed >= count) return; // past COUNT: neither printed nor committed by us
        const headers = Object.entries(message.headers || {}).map(([k, v]) => [k, text(v)]);
        lines.push(JSON.stringify({ topic: t, partition, offset: Number(message.offset),
                                    key: text(message.key), value: text(message.value), headers }));
        summary.consumed++;
        next.set(partition, Number(message.offset) + 1);
        if (summary.consumed === count) reached(true);
      },
    });
    await allConsumed;
    clearTimeout(timer);
    if (next.size > 0) {
      await consumer.commitOffsets([...next].map(([partition, offset]) =>
        ({ topic, partition, offset: String(offset) })));
      summary.committed = true;
    }
  } catch (e) {
    summary.errors++;
    summary.first_error = summary.first_error || String(e);
  }
  try {
    await consumer.disconnect();
  } catch (e) {
    summary.errors++;
    summary.first_error = summary.first_error || String(e);
  }
  if (summary.consumed < count) {
    summary.first_error = summary.first_error ||
      `consumed ${summary.consumed} of ${count} in ${timeoutMs / 1000} s`;
  }
  finish(summary.consumed === count && summary.committed && summary.errors === 0 ? 0 : 1);
}

main();
