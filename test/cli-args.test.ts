// exec's option reader (lib/cli-args.ts): the fast reading of well-formed
// command lines must be what util.parseArgs reads, and a cold CLI start with
// such a line must not load parseArgs at all.
import { spawnSync } from 'child_process';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { parseWithNode, scanOptions } from '../lib/cli-args';
import { repoRoot } from './helpers';

// Words that make up command lines: options of each kind, with and without values, malformed ones, commands.
const WORDS = [
  '-w',
  '/a',
  '--write',
  '--write=/b',
  '--write=',
  '--write=-x',
  '-r',
  '/c',
  '--read-only',
  '--network',
  '--network=1',
  '-v',
  '-vh',
  '-wX',
  '-w=/d',
  '--unknown',
  '-x',
  '--',
  'true',
  '-',
  '--mode',
  'read-only',
  '--mode=x',
  '--dry-run',
  '--env',
  'A=1',
  '-h',
  '--tmp',
  'none',
  '',
  '--constructor',
  '--__proto__',
  '---write',
  '--deny-read',
  '--no-config',
  '--config=/e',
];

/** The same command lines every run: a small linear congruential generator. */
function* commandLines(n: number): Generator<string[]> {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < n; i++) yield Array.from({ length: next() % 7 }, () => WORDS[next() % WORDS.length]);
}

const plain = (r: { values: object; command: number }) => ({ values: { ...r.values }, command: r.command });

describe("exec's option reader", () => {
  it('reads what util.parseArgs reads wherever it reads a line itself, and leaves every line parseArgs refuses to it', () => {
    let fast = 0;
    for (const argv of commandLines(5000)) {
      const mine = scanOptions(argv);
      let node: { values: object; command: number } | Error;
      try {
        node = plain(parseWithNode(argv));
      } catch (e) {
        node = e as Error;
      }
      if (mine === undefined) continue;
      fast++;
      expect(node, JSON.stringify(argv)).not.toBeInstanceOf(Error);
      expect(plain(mine), JSON.stringify(argv)).toEqual(node);
    }
    // Most random lines contain something malformed; the well-formed ones must still be many.
    expect(fast).toBeGreaterThan(500);
  });

  it('reads the usual forms itself', () => {
    for (const argv of [
      ['-w', '/a', '--', 'true'],
      ['--write=/b', '-r', '/c', '--network', 'ls', '-w'],
      ['--mode', 'read-only', '-v', '--env', 'A=1', '--write=-x', '-'],
      [],
    ])
      expect(scanOptions(argv), JSON.stringify(argv)).toEqual(plain(parseWithNode(argv)));
  });

  it('a CLI start with a well-formed line does not load util.parseArgs', () => {
    const probe = `require(${JSON.stringify(path.join(repoRoot, 'dist', 'cli-args.js'))}).parseExecArgs(['-w', '/a', '--verbose', '--', 'true']);
      console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('parse_args'))));`;
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
