// protocol/events.json -> lib/gen/events.ts (offsets and types) and
// native/gen/events.h (the header and one struct per record type).
'use strict';
const { header, fail, checkNames, camel, cppPrelude } = require('./common');

const TABLE = 'events.json';
const CTYPE = { int32: 'int32_t', uint32: 'uint32_t' };

function eventFiles(t) {
  checkNames(TABLE, t.types.map((e) => e.name));
  for (const f of [...t.header, ...t.types.flatMap((e) => e.payload)]) if (!CTYPE[f.type]) fail(TABLE, `${f.name}: unknown type ${f.type}`);
  const headerSize = 4 * t.header.length;
  const upper = (s) => s.toUpperCase();

  const ts = [
    header('//', TABLE),
    ...t.about.slice(0, 3).map((l) => `// ${l}`),
    `export const MAX_EVENT_SIZE = ${t.max_size};`,
    `export const EVENT_HEADER_SIZE = ${headerSize};`,
    ...t.header.map((f, i) => `export const EVENT_${upper(f.name)}_OFFSET = ${4 * i}; // ${f.doc}`),
    ...t.types.flatMap((e) => [
      `/** ${e.doc} */`,
      `export const EVENT_${upper(e.name)} = ${e.value};`,
      ...e.payload.map((f, i) => `export const EVENT_${upper(e.name)}_${upper(f.name)}_OFFSET = ${headerSize + 4 * i}; // ${f.doc}`),
    ]),
    '',
  ].join('\n');

  const h = [
    ...cppPrelude(TABLE, ['stdint.h']),
    ...t.about.slice(0, 3).map((l) => `// ${l}`),
    'enum SandboxEventType : int32_t {',
    ...t.types.map((e) => `  kEvent${camel(e.name)} = ${e.value},  // ${e.doc}`),
    '};',
    '',
    'struct EventHeader {',
    ...t.header.map((f) => `  ${CTYPE[f.type]} ${f.name};  // ${f.doc}`),
    '};',
    `static_assert(sizeof(EventHeader) == ${headerSize}, "protocol/events.json: header");`,
    '',
    ...t.types.flatMap((e) => [
      `struct Event${camel(e.name)} {`,
      '  EventHeader h;',
      ...e.payload.map((f) => `  ${CTYPE[f.type]} ${f.name};  // ${f.doc}`),
      '};',
    ]),
    '',
    `const uint32_t kMaxEventSize = ${t.max_size};  // PIPE_BUF: a write this small is atomic`,
    '',
  ].join('\n');

  return { 'lib/gen/events.ts': ts, 'native/gen/events.h': h };
}

module.exports = { eventFiles };
