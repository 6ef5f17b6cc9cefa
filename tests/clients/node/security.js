// kafkajs settings from EB_CLIENT_SECURITY (see tests/clients/security.py): {} when unset.
'use strict';
const fs = require('fs');

module.exports = function security() {
  const raw = process.env.EB_CLIENT_SECURITY;
  if (!raw) return {};
  const s = JSON.parse(raw);
  const out = {};
  if (s.protocol === 'SSL' || s.protocol === 'SASL_SSL') {
    out.ssl = s.ca ? { ca: [fs.readFileSync(s.ca, 'utf-8')] } : {};
    if (s.cert) {
      out.ssl.cert = fs.readFileSync(s.cert, 'utf-8');
      out.ssl.key = fs.readFileSync(s.key, 'utf-8');
    }
    if (!s.ca && !s.cert) out.ssl = true;
  }
  if (s.mechanism) {
    out.sasl = { mechanism: s.mechanism.toLowerCase(), username: s.username, password: s.password };
  }
  return out;
};
