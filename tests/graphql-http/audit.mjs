// Audits a running lexgate against the GraphQL over HTTP specification with the
// graphql-http suite: `node audit.mjs URL` (the bearer token in LEXGATE_AUDIT_TOKEN,
// since lexgate answers anonymous callers only for `login`). Exits non-zero when a
// MUST or SHOULD audit fails; MAY audits are reported only.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://host:port/graphql');
  process.exit(2);
}
const token = process.env.LEXGATE_AUDIT_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = {};
let failed = 0;
for (const result of results) {
  const level = result.name.split(' ')[0];
  counts[level] ??= { ok: 0, total: 0 };
  counts[level].total += 1;
  if (result.status === 'ok') {
    counts[level].ok += 1;
    continue;
  }
  const required = level === 'MUST' || level === 'SHOULD';
  if (required) failed += 1;
  console.log(`${required ? 'FAIL' : 'note'} ${result.name}: ${result.reason}`);
}
for (const [level, { ok, total }] of Object.entries(counts)) {
  console.log(`${level} ${ok}/${total}`);
}
process.exit(failed === 0 ? 0 : 1);
