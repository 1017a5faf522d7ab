// Golden layouts: each case in cases.ts, planned from an in-memory host (no
// helper, no kernel), must give exactly golden/<name>.json. The files are
// reviewed like code; SBX_NATIVE_UPDATE_GOLDEN=1 rewrites them (and only
// then), so a changed decision shows in the diff (docs/design.md, "Golden layouts").
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { CASES } from './cases';
import { memView } from './memfs';
import { render } from './render';

const UPDATE = process.env.SBX_NATIVE_UPDATE_GOLDEN === '1';
const DIR = path.join(__dirname, 'golden');

describe('golden layouts (in-memory host)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const file = path.join(DIR, `${c.name}.json`);
      const text = JSON.stringify(render(c, memView(c.host)), null, 2) + '\n';
      if (UPDATE) {
        fs.mkdirSync(DIR, { recursive: true });
        fs.writeFileSync(file, text);
        return;
      }
      if (!fs.existsSync(file))
        throw new Error(`${file} missing: run SBX_NATIVE_UPDATE_GOLDEN=1 npx vitest run test/planner/golden.test.ts and review it`);
      const want = fs.readFileSync(file, 'utf8');
      expect(JSON.parse(text)).toEqual(JSON.parse(want));
      expect(text).toBe(want);
    });
  }

  it('every golden file belongs to a case', () => {
    const names = new Set(CASES.map((c) => `${c.name}.json`));
    expect(names.size).toBe(CASES.length);
    if (!UPDATE) expect(fs.readdirSync(DIR).filter((f) => !names.has(f))).toEqual([]);
  });
});
