// The authorizer's rules (Kafka's), ACL persistence in storage records, and the SASL session's
// state machine over real stored credentials.
#include "bridge/security/authorizer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "bridge/security/credentials.h"
#include "bridge/security/sasl.h"
#include "net/errors.h"

namespace eb::bridge::security {
namespace {

namespace fs = std::filesystem;

class authorizer_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("eb-authz-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    open();
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }
  void open() {
    storage::options o;
    o.data_dir = dir;
    auto s = storage::log_store::open(o);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    store = std::move(*s);
  }
  void add(std::vector<acl_binding> acls) {
    std::vector<storage::record_change> changes;
    for (auto& b : acls) {
      ASSERT_TRUE(valid(b));
      changes.push_back({encode(b), std::string()});
    }
    ASSERT_TRUE(store->update_records(authorizer::record_kind, std::move(changes)).has_value());
  }
  static acl_binding allow(resource_type t, std::string name, acl_operation op,
                           std::string principal = "User:alice",
                           pattern_type p = pattern_type::literal) {
    return {t, std::move(name), p, std::move(principal), "*", op, acl_permission::allow};
  }
  static acl_binding deny(resource_type t, std::string name, acl_operation op,
                          std::string principal = "User:alice",
                          pattern_type p = pattern_type::literal) {
    auto b = allow(t, std::move(name), op, std::move(principal), p);
    b.permission = acl_permission::deny;
    return b;
  }

  fs::path dir;
  std::unique_ptr<storage::log_store> store;
};

constexpr auto topic = resource_type::topic;
constexpr auto group = resource_type::group;

TEST_F(authorizer_test, deny_by_default_and_disabled_allows_all) {
  authorizer on({.enabled = true}, *store);
  EXPECT_FALSE(on.allowed("User:alice", "10.0.0.1", acl_operation::read, topic, "t"));
  authorizer off({.enabled = false}, *store);
  EXPECT_TRUE(off.allowed("User:alice", "10.0.0.1", acl_operation::read, topic, "t"));
}

TEST_F(authorizer_test, literal_prefixed_wildcard_and_implied_describe) {
  add({allow(topic, "sensors", acl_operation::write),
       allow(topic, "plant1.", acl_operation::read, "User:alice", pattern_type::prefixed),
       allow(group, "*", acl_operation::read, "User:*")});
  authorizer a({.enabled = true}, *store);
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::write, topic, "sensors"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::write, topic, "sensors2"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::read, topic, "sensors"));
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::describe, topic, "sensors"))
      << "Write implies Describe";
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::read, topic, "plant1.temp"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::read, topic, "plant2.temp"));
  EXPECT_FALSE(a.allowed("User:bob", "h", acl_operation::read, topic, "plant1.temp"));
  EXPECT_TRUE(a.allowed("User:bob", "h", acl_operation::read, group, "any-group"));
  EXPECT_FALSE(a.allowed("User:bob", "h", acl_operation::create, topic, "sensors"));
}

TEST_F(authorizer_test, deny_wins_and_all_covers_every_operation) {
  add({allow(topic, "*", acl_operation::all), deny(topic, "secret", acl_operation::read),
       deny(topic, "locked.", acl_operation::all, "User:alice", pattern_type::prefixed)});
  authorizer a({.enabled = true}, *store);
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::create, topic, "x"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::read, topic, "secret"));
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::write, topic, "secret"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::write, topic, "locked.a"));
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::describe, topic, "locked.a"));
}

TEST_F(authorizer_test, host_must_match_and_super_users_pass) {
  auto b = allow(topic, "t", acl_operation::read);
  b.host = "10.0.0.5";
  add({b});
  authorizer a({.enabled = true, .super_users = {"User:admin"}}, *store);
  EXPECT_TRUE(a.allowed("User:alice", "10.0.0.5", acl_operation::read, topic, "t"));
  EXPECT_FALSE(a.allowed("User:alice", "10.0.0.6", acl_operation::read, topic, "t"));
  EXPECT_TRUE(a.allowed("User:admin", "1.2.3.4", acl_operation::alter, resource_type::cluster,
                        cluster_name));
}

TEST_F(authorizer_test, allowed_on_some_topic_for_idempotent_producers) {
  add({allow(topic, "t", acl_operation::write), deny(topic, "u", acl_operation::write, "User:bob"),
       allow(topic, "u", acl_operation::write, "User:bob")});
  authorizer a({.enabled = true}, *store);
  EXPECT_TRUE(a.allowed_on_some("User:alice", "h", acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:bob", "h", acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:carol", "h", acl_operation::write, topic));
}

TEST_F(authorizer_test, acls_persist_across_reopen_and_filters_select) {
  add({allow(topic, "t", acl_operation::read), allow(group, "g", acl_operation::read, "User:bob")});
  store.reset();
  open();
  authorizer a({.enabled = true}, *store);
  EXPECT_TRUE(a.allowed("User:alice", "h", acl_operation::read, topic, "t"));
  EXPECT_EQ(a.find({}).size(), 2u);
  EXPECT_EQ(a.find({.resource = group}).size(), 1u);
  EXPECT_EQ(a.find({.principal = "User:alice"}).size(), 1u);
  EXPECT_EQ(a.find({.name = "t", .pattern = pattern_type::match}).size(), 1u);
  // Deletion applies after reload.
  ASSERT_TRUE(store
                  ->update_records(authorizer::record_kind,
                                   {{encode(allow(topic, "t", acl_operation::read)), std::nullopt}})
                  .has_value());
  a.reload();
  EXPECT_FALSE(a.allowed("User:alice", "h", acl_operation::read, topic, "t"));
}

TEST_F(authorizer_test, invalid_bindings_and_records_are_refused) {
  EXPECT_FALSE(valid(
      {topic, "t", pattern_type::any, "User:a", "*", acl_operation::read, acl_permission::allow}));
  EXPECT_FALSE(valid({topic, "t", pattern_type::literal, "alice", "*", acl_operation::read,
                      acl_permission::allow}));
  EXPECT_FALSE(valid({resource_type::cluster, "other", pattern_type::literal, "User:a", "*",
                      acl_operation::alter, acl_permission::allow}));
  EXPECT_FALSE(decode_acl("garbage").has_value());
  // Storage bounds its records.
  EXPECT_FALSE(store->update_records("", {{"k", "v"}}).has_value());
  EXPECT_FALSE(
      store->update_records("k", {{std::string(storage::max_record_key_bytes + 1, 'k'), "v"}})
          .has_value());
}

// The SASL session over credentials in storage: PLAIN verified against the SCRAM credential,
// failures close, the gate, re-authentication and the session lifetime.
TEST_F(authorizer_test, sasl_session_plain_and_gate) {
  using namespace std::string_literals;
  auto cred = make_credential(scram_mechanism::sha512, "alice-secret", 4096);
  ASSERT_TRUE(store->update_records(credential_record_kind, {upsert_credential("alice", *cred)})
                  .has_value());
  sasl_options opts{.max_reauth = std::chrono::milliseconds(1000)};
  const auto t0 = sasl_session::clock::now();

  net::session conn;
  conn.protocol = net::security_protocol::sasl_plaintext;
  conn.authenticated = false;
  EXPECT_TRUE(may_serve(conn, 18, t0));   // ApiVersions
  EXPECT_FALSE(may_serve(conn, 3, t0));   // Metadata before authentication
  EXPECT_FALSE(may_serve(conn, 36, t0));  // SaslAuthenticate before a handshake
  auto s = std::make_unique<sasl_session>(opts, std::vector<std::string>{});
  auto* sasl = s.get();
  conn.sasl = std::move(s);
  EXPECT_EQ(sasl->handshake(1, "GSSAPI").error_code,
            static_cast<int16_t>(net::error_code::unsupported_sasl_mechanism));

  sasl_session fresh(opts, {});
  ASSERT_EQ(fresh.handshake(1, "PLAIN").error_code, 0);
  auto bad = fresh.authenticate("\0alice\0wrong"s, *store, t0);
  EXPECT_EQ(bad.error_code, static_cast<int16_t>(net::error_code::sasl_authentication_failed));
  EXPECT_TRUE(bad.close);

  sasl_session unknown(opts, {});
  ASSERT_EQ(unknown.handshake(1, "PLAIN").error_code, 0);
  EXPECT_EQ(unknown.authenticate("\0mallory\0x"s, *store, t0).error_code,
            static_cast<int16_t>(net::error_code::sasl_authentication_failed));

  sasl_session ok(opts, {});
  ASSERT_EQ(ok.handshake(1, "PLAIN").error_code, 0);
  EXPECT_FALSE(ok.may_serve(3, t0));
  auto good = ok.authenticate("\0alice\0alice-secret"s, *store, t0);
  EXPECT_EQ(good.error_code, 0);
  EXPECT_EQ(good.session_lifetime_ms, 1000);
  EXPECT_EQ(ok.principal(), "User:alice");
  EXPECT_TRUE(ok.may_serve(3, t0 + std::chrono::milliseconds(999)));
  EXPECT_FALSE(ok.may_serve(3, t0 + std::chrono::milliseconds(1000))) << "expired";
  // Re-authentication renews the session; a different principal is refused.
  ASSERT_EQ(ok.handshake(1, "PLAIN").error_code, 0);
  EXPECT_EQ(
      ok.authenticate("\0alice\0alice-secret"s, *store, t0 + std::chrono::seconds(1)).error_code,
      0);
  EXPECT_TRUE(ok.may_serve(3, t0 + std::chrono::milliseconds(1500)));
  // A SaslAuthenticate without a new handshake is out of order.
  EXPECT_EQ(ok.authenticate("\0alice\0alice-secret"s, *store, t0).error_code,
            static_cast<int16_t>(net::error_code::illegal_sasl_state));
}

}  // namespace
}  // namespace eb::bridge::security
