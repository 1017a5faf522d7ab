// protocol/plan-steps.json -> lib/gen/plan-steps.ts, native/helper/gen/plan_steps.h
// (the enum and the name table) and native/helper/gen/step_dispatch.h (the one
// switch that runs a step; a row without its step_<op> function does not link).
'use strict';
const { header, fail, checkNames, cppPrelude } = require('./common');

const TABLE = 'plan-steps.json';
const KINDS = new Set(['path', 'num', 'slot', 'text', 'word']);
const HINTS = new Set(['new-userns', 'userns', 'mount', 'landlock', 'chdir', 'lock', 'other']);

/** [min, max] argument count; max is null when the last argument repeats. */
function arity(step) {
  let min = 0,
    max = 0,
    open = false;
  step.args.forEach((a, i) => {
    const m = /^([a-z]+)(\?|\.\.\.)?$/.exec(a);
    if (!m || !KINDS.has(m[1])) fail(TABLE, `${step.op}: bad argument kind ${JSON.stringify(a)}`);
    if (m[2] && i !== step.args.length - 1) fail(TABLE, `${step.op}: only the last argument may be optional or repeated`);
    if (m[2] === '...') open = true;
    else max++;
    if (!m[2]) min++;
  });
  return [min, open ? null : max];
}

function planStepFiles(t) {
  const steps = t.steps;
  checkNames(
    TABLE,
    steps.map((s) => s.op),
  );
  for (const s of steps) if (!HINTS.has(s.hint)) fail(TABLE, `${s.op}: unknown hint class ${s.hint}`);
  const index = new Map(steps.map((s, i) => [s.op, i]));
  if (steps.length > 64) fail(TABLE, 'more than 64 steps: StepSpec.after is a 64-bit mask');
  for (const s of steps) for (const a of s.after ?? []) if (!index.has(a)) fail(TABLE, `${s.op}: after an unknown step ${a}`);
  const mask = (s) => (s.after ?? []).map((a) => `step_bit(StepOp::${a})`).join(' | ') || '0';
  const rows = steps.map((s) => ({ ...s, arity: arity(s) }));

  const ts = [
    header('//', TABLE),
    '/** Every plan step the helper runs, in the order of the table. */',
    'export const STEP_OPS = [',
    ...rows.map((s) => `  '${s.op}',`),
    '] as const;',
    'export type StepOp = (typeof STEP_OPS)[number];',
    '',
    '/** What lib/errors.ts advises when a step of the class fails. */',
    `export type HintClass = ${[...HINTS].map((h) => `'${h}'`).join(' | ')};`,
    '',
    'export const STEP_HINT: Readonly<Record<StepOp, HintClass>> = {',
    ...rows.map((s) => `  ${s.op}: '${s.hint}',`),
    '};',
    '',
    '/** The argument kinds of each step (protocol/plan-steps.json: `?` optional, `...` repeated). */',
    'export const STEP_ARGS: Readonly<Record<StepOp, readonly string[]>> = {',
    ...rows.map((s) => `  ${s.op}: [${s.args.map((a) => `'${a}'`).join(', ')}],`),
    '};',
    '',
    '/** [fewest, most] arguments; most is Infinity when the last one repeats. */',
    'export const STEP_ARITY: Readonly<Record<StepOp, readonly [number, number]>> = {',
    ...rows.map((s) => `  ${s.op}: [${s.arity[0]}, ${s.arity[1] ?? 'Infinity'}],`),
    '};',
    '',
  ].join('\n');

  const h = [
    ...cppPrelude(TABLE, ['stddef.h', 'stdint.h', 'string']),
    'enum class StepOp : unsigned char {',
    ...rows.map((s) => `  ${s.op},`),
    '};',
    '',
    'constexpr size_t kAnyArgs = (size_t)-1;  // the last argument repeats',
    '',
    'constexpr uint64_t step_bit(StepOp op) { return (uint64_t)1 << (unsigned)op; }',
    '',
    'struct StepSpec {',
    '  const char *name;',
    '  StepOp op;',
    '  size_t min_args, max_args;',
    '  uint64_t after;  // step_bit()s of the steps that must have run before this one',
    '};',
    '',
    'inline constexpr StepSpec kStepSpecs[] = {',
    ...rows.map((s) => `    {"${s.op}", StepOp::${s.op}, ${s.arity[0]}, ${s.arity[1] ?? 'kAnyArgs'}, ${mask(s)}},`),
    '};',
    'static_assert(sizeof kStepSpecs / sizeof kStepSpecs[0] <= 64, "StepSpec.after is a 64-bit mask");',
    '',
    'inline const StepSpec &spec_of(StepOp op) { return kStepSpecs[(unsigned)op]; }',
    '',
    '// The row of the step called `name`, or nullptr.',
    'inline const StepSpec *find_step(const std::string &name) {',
    '  for (const StepSpec &s : kStepSpecs)',
    '    if (name == s.name) return &s;',
    '  return nullptr;',
    '}',
    '',
  ].join('\n');

  const dispatch = [
    header('//', TABLE),
    '#pragma once',
    '#include "../helper.h"',
    '',
    '// One function per step, in the file of its group; each returns on success and calls fail() otherwise.',
    ...rows.map((s) => `void step_${s.op}(Run &run, const Step &s);  // ${s.group}`),
    '',
    'inline void run_step(Run &run, const Step &s) {',
    '  switch (s.op) {',
    ...rows.map((s) => `    case StepOp::${s.op}: return step_${s.op}(run, s);`),
    '  }',
    '}',
    '',
  ].join('\n');

  return {
    'lib/gen/plan-steps.ts': ts,
    'native/helper/gen/plan_steps.h': h,
    'native/helper/gen/step_dispatch.h': dispatch,
  };
}

module.exports = { planStepFiles };
