// The generated sides of the TypeScript/C++ seam (lib/gen/, native/**/gen/)
// match the tables in protocol/, and the tables match what the code emits.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess, SETUP_FAILED } from '../lib';
import { STEP_ARITY, STEP_OPS } from '../lib/gen/plan-steps';
import { encodePlan, Plan, Step } from '../lib/plan';
import { rmTree, tempDir, userLabel } from './helpers';

const root = path.join(__dirname, '..');

describe('protocol tables', () => {
  it('the generated files are up to date (node scripts/gen-protocol.js --check)', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-protocol.js'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the encoder refuses a step the table does not have, or a wrong number of arguments', () => {
    const plan = (op: string, args: string[]): Plan => ({
      level: 'full',
      landlockAbi: 0,
      layout: undefined,
      steps: [{ op: op as never, args }],
    });
    expect(() => encodePlan(plan('no_such_step', []))).toThrow(/unknown plan step/);
    expect(() => encodePlan(plan('constructor', []))).toThrow(/unknown plan step/);
    expect(() => encodePlan(plan('chdir', []))).toThrow(/wrong number of arguments/);
    expect(() => encodePlan(plan('chdir', ['/', '/']))).toThrow(/wrong number of arguments/);
    expect(encodePlan(plan('seal', ['/a', ...Array(1000).fill('x')])).length).toBeGreaterThan(0);
  });

  it('every step has an arity', () => {
    for (const op of STEP_OPS) expect(STEP_ARITY[op][0]).toBeLessThanOrEqual(STEP_ARITY[op][1]);
  });
});

describe(`the helper checks the plan against the table (as ${userLabel})`, () => {
  let dir: string, marker: string;
  beforeAll(() => {
    dir = tempDir();
    marker = path.join(dir, 'ran');
  });
  afterAll(() => rmTree(dir));

  const run = async (mutate: (steps: Step[]) => Step[]) => {
    const prepared = prepare('/bin/sh', ['-c', `touch ${marker}`], { sandbox: { writableRoots: [dir], tmp: 'none' } });
    prepared.plan.steps = mutate(prepared.plan.steps);
    const child = new SandboxedProcess(prepared, { stdio: 'ignore' });
    const closed = new Promise((res) => child.on('close', res));
    const err = await new Promise<any>((res) => child.on('error', res));
    await closed;
    expect(fs.existsSync(marker)).toBe(false);
    return err;
  };

  it('a step that comes before one it needs fails there, naming both', async () => {
    const err = await run((steps) => steps.filter((s) => s.op !== 'landlock_create' && s.op !== 'clone_tree'));
    expect(err).toMatchObject({ code: SETUP_FAILED, step: 'setattr_slot', errno: -22 });
    expect(err.syscall).toBe('setattr_slot before clone_tree');
  });

  it('a slot that was never cloned fails the step that uses it', async () => {
    const err = await run((steps) => steps.map((s) => (s.op === 'move_slot' ? { op: s.op, args: ['9999', s.args[1]] } : s)));
    expect(err).toMatchObject({ code: SETUP_FAILED, step: 'move_slot', errno: -22, syscall: 'no cloned tree in slot 9999' });
  });
});
