// The generated sides of the TypeScript/C++ seam (lib/gen/, native/**/gen/)
// match the tables in protocol/, and the tables match what the code emits.
import { spawnSync } from 'child_process';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { STEP_ARITY, STEP_OPS } from '../lib/gen/plan-steps';
import { encodePlan, Plan } from '../lib/plan';

const root = path.join(__dirname, '..');

describe('protocol tables', () => {
  it('the generated files are up to date (node scripts/gen-protocol.js --check)', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-protocol.js'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the encoder refuses a step the table does not have, or a wrong number of arguments', () => {
    const plan = (op: string, args: string[]): Plan => ({ level: 'full', landlockAbi: 0, layout: undefined, steps: [{ op: op as never, args }] });
    expect(() => encodePlan(plan('no_such_step', []))).toThrow(/unknown plan step/);
    expect(() => encodePlan(plan('chdir', []))).toThrow(/wrong number of arguments/);
    expect(() => encodePlan(plan('chdir', ['/', '/']))).toThrow(/wrong number of arguments/);
    expect(encodePlan(plan('seal', ['/a', ...Array(1000).fill('x')])).length).toBeGreaterThan(0);
  });

  it('every step has an arity', () => {
    for (const op of STEP_OPS) expect(STEP_ARITY[op][0]).toBeLessThanOrEqual(STEP_ARITY[op][1]);
  });
});
