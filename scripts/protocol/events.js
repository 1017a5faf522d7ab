// protocol/events.json -> lib/gen/events.ts (offsets and types) and
// native/gen/events.h (the header and one struct per record type).
'use strict';
const { header, fail, checkNames, camel, cppPrelude } = require('./common');

const TABLE = 'events.json';
const CTYPE = { int32: 'int32_t', uint32: 'uint32_t', char: 'char', text: 'char' };

// Byte offsets of a payload: int32s, fixed char arrays, and one trailing text (the rest of the record).
function layout(t, e, headerSize) {
  let offset = headerSize;
  return e.payload.map((f, i) => {
    if (f.type === 'text' && i !== e.payload.length - 1) fail(TABLE, `${e.name}.${f.name}: a text field must come last`);
    if (f.type === 'char' && !(f.length > 0)) fail(TABLE, `${e.name}.${f.name}: a char field needs a length`);
    const row = { ...f, offset };
    offset += f.type === 'char' ? f.length : f.type === 'text' ? 0 : 4;
    return row;
  });
}

function eventFiles(t) {
  checkNames(
    TABLE,
    t.types.map((e) => e.name),
  );
  for (const f of [...t.header, ...t.types.flatMap((e) => e.payload)]) if (!CTYPE[f.type]) fail(TABLE, `${f.name}: unknown type ${f.type}`);
  const headerSize = 4 * t.header.length;
  const upper = (s) => s.toUpperCase();
  const enums = Object.entries(t.enums ?? {});

  const ts = [
    header('//', TABLE),
    ...t.about.slice(0, 3).map((l) => `// ${l}`),
    `export const MAX_EVENT_SIZE = ${t.max_size};`,
    `export const EVENT_HEADER_SIZE = ${headerSize};`,
    ...t.header.map((f, i) => `export const EVENT_${upper(f.name)}_OFFSET = ${4 * i}; // ${f.doc}`),
    ...t.types.flatMap((e) => [
      `/** ${e.doc} */`,
      `export const EVENT_${upper(e.name)} = ${e.value};`,
      ...layout(t, e, headerSize).flatMap((f) => [
        `export const EVENT_${upper(e.name)}_${upper(f.name)}_OFFSET = ${f.offset}; // ${f.doc}`,
        ...(f.type === 'char' ? [`export const EVENT_${upper(e.name)}_${upper(f.name)}_LENGTH = ${f.length};`] : []),
      ]),
    ]),
    ...enums.flatMap(([name, values]) => values.map((v) => `export const ${upper(name)}_${upper(v.name)} = ${v.value}; // ${v.doc}`)),
    ...(t.max_distinct_violations ? [`export const MAX_DISTINCT_VIOLATIONS = ${t.max_distinct_violations};`] : []),
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
    ...t.types.flatMap((e) => {
      const fields = layout(t, e, headerSize);
      return [
        `struct Event${camel(e.name)} {`,
        '  EventHeader h;',
        ...fields.map(
          (f) =>
            `  ${CTYPE[f.type]} ${f.name}${f.type === 'char' ? `[${f.length}]` : f.type === 'text' ? `[${t.max_size - f.offset}]` : ''};  // ${f.doc}`,
        ),
        '};',
        ...fields
          .filter((f) => f.type === 'text')
          .map(
            (f) =>
              `const uint32_t kEvent${camel(e.name)}${camel(f.name)}Offset = ${f.offset};  // the record's size is this plus the text and its NUL`,
          ),
      ];
    }),
    ...enums.flatMap(([name, values]) => [
      `enum ${camel(name)} : int32_t {`,
      ...values.map((v) => `  k${camel(name)}${camel(v.name)} = ${v.value},  // ${v.doc}`),
      '};',
    ]),
    '',
    `const uint32_t kMaxEventSize = ${t.max_size};  // PIPE_BUF: a write this small is atomic`,
    ...(t.max_distinct_violations ? [`const int kMaxDistinctViolations = ${t.max_distinct_violations};  // then only counted`] : []),
    '',
  ].join('\n');

  return { 'lib/gen/events.ts': ts, 'native/gen/events.h': h };
}

module.exports = { eventFiles };
