// protocol/error-report.json -> lib/gen/error-report.ts (offsets) and
// native/gen/error_report.h (the struct, with static_asserts on its layout).
'use strict';
const { header, fail, checkNames, camel, cppPrelude } = require('./common');

const TABLE = 'error-report.json';
const SIZES = { int32: 4, char: 1 };
const CTYPE = { int32: 'int32_t', char: 'char' };

function errorReportFiles(t) {
  checkNames(TABLE, [...t.fields.map((f) => f.name), ...t.special_steps.map((s) => s.name)]);
  let offset = 0;
  const fields = t.fields.map((f) => {
    if (!SIZES[f.type]) fail(TABLE, `${f.name}: unknown type ${f.type}`);
    const length = f.length ?? 1;
    const row = { ...f, offset, length, bytes: SIZES[f.type] * length };
    offset += row.bytes;
    return row;
  });
  if (offset !== t.size) fail(TABLE, `fields take ${offset} bytes, size says ${t.size}`);
  const upper = (s) => s.toUpperCase();

  const ts = [
    header('//', TABLE),
    ...t.about.slice(0, 2).map((l) => `// ${l}`),
    `export const REPORT_SIZE = ${t.size};`,
    ...fields.flatMap((f) => [
      `/** ${f.doc} */`,
      `export const REPORT_${upper(f.name)}_OFFSET = ${f.offset};`,
      ...(f.length > 1 ? [`export const REPORT_${upper(f.name)}_LENGTH = ${f.length};`] : []),
    ]),
    ...t.special_steps.flatMap((s) => [`/** step: ${s.doc} */`, `export const REPORT_STEP_${upper(s.name)} = ${s.value};`]),
    '',
  ].join('\n');

  const h = [
    ...cppPrelude(TABLE, ['stddef.h', 'stdint.h']),
    ...t.about.slice(0, 2).map((l) => `// ${l}`),
    'struct ErrorReport {',
    ...fields.map((f) => `  ${CTYPE[f.type]} ${f.name}${f.length > 1 ? `[${f.length}]` : ''};  // ${f.doc}`),
    '};',
    `static_assert(sizeof(ErrorReport) == ${t.size}, "protocol/error-report.json: size");`,
    ...fields.map((f) => `static_assert(offsetof(ErrorReport, ${f.name}) == ${f.offset}, "protocol/error-report.json: ${f.name}");`),
    '',
    ...t.special_steps.map((s) => `const int32_t kReport${camel(s.name)} = ${s.value};  // step: ${s.doc}`),
    '',
  ].join('\n');

  return { 'lib/gen/error-report.ts': ts, 'native/gen/error_report.h': h };
}

module.exports = { errorReportFiles };
