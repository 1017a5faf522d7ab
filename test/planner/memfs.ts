// An in-memory FsView (lib/fsview.ts): a tree of directories, files and
// symlinks resolved the way Linux resolves them (symlinks followed component
// by component, ".." physical, ELOOP after 40 links, ENOTDIR through a file),
// with the errors fs throws. test/planner/parity.test.ts checks it against
// the real file system on the questions the planner asks.
import path from 'path';
import type { FsStat, FsView } from '../../lib/fsview';
import type { MountEntry } from '../../lib/mountinfo';

/**
 * Path -> entry: a string is a file's content, `{ symlink }` a symlink, DIR a
 * directory, `{ dir: true, searchable: false }` one without search permission
 * (EACCES below it). Parents are made as directories.
 */
export type TreeSpec = Record<string, string | { symlink: string } | { dir: true; searchable?: boolean }>;

export const DIR = { dir: true } as const;

export interface HostSpec {
  tree: TreeSpec;
  /** Mount points, outermost first: "/" is id 1, each next one a child of the deepest one above it. */
  mounts?: string[];
  /** The planner's own environment (not the command's). */
  env?: Record<string, string>;
  arch?: string;
  uid?: number;
  packageDir?: string;
  mainScript?: string;
}

type Node =
  | { kind: 'dir'; ino: number; children: Map<string, Node>; searchable: boolean }
  | { kind: 'file'; ino: number; content: string }
  | { kind: 'symlink'; ino: number; target: string };

function errno(code: string, syscall: string, p: string): Error {
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many symbolic links encountered',
    EACCES: 'permission denied',
    EINVAL: 'invalid argument',
    EISDIR: 'illegal operation on a directory',
  };
  return Object.assign(new Error(`${code}: ${text[code]}, ${syscall} '${p}'`), { code, syscall, path: p });
}

export interface MemView extends FsView {
  /** Changes the tree after creation (e.g. to check what a recording notices). */
  put(p: string, entry: TreeSpec[string]): void;
  remove(p: string): void;
}

export function memView(spec: HostSpec): MemView {
  let nextIno = 2;
  const root: Node = { kind: 'dir', ino: 1, children: new Map(), searchable: true };

  const dirAt = (p: string): Extract<Node, { kind: 'dir' }> => {
    let cur = root;
    for (const c of p.split('/').filter(Boolean)) {
      let next = cur.children.get(c);
      if (!next) cur.children.set(c, (next = { kind: 'dir', ino: nextIno++, children: new Map(), searchable: true }));
      if (next.kind !== 'dir') throw new Error(`memfs spec: ${p}: ${c} is not a directory`);
      cur = next;
    }
    return cur;
  };
  const put = (p: string, entry: TreeSpec[string]) => {
    if (typeof entry === 'object' && 'dir' in entry) {
      dirAt(p).searchable = entry.searchable ?? true;
      return;
    }
    const parent = dirAt(path.dirname(p));
    const ino = nextIno++;
    parent.children.set(
      path.basename(p),
      typeof entry === 'string' ? { kind: 'file', ino, content: entry } : { kind: 'symlink', ino, target: entry.symlink },
    );
  };
  for (const [p, e] of Object.entries(spec.tree)) put(p, e);

  /** The node at `p` and its real path; `follow`: whether a final symlink is followed. */
  const lookup = (p: string, follow: boolean, syscall: string): { node: Node; real: string } => {
    if (!path.isAbsolute(p)) throw new Error(`memfs: relative path ${p}`);
    const todo = p.split('/').filter(Boolean);
    const stack: { node: Extract<Node, { kind: 'dir' }>; name: string }[] = [];
    let cur: Extract<Node, { kind: 'dir' }> = root;
    let links = 0;
    const realOf = (extra?: string) => '/' + [...stack.map((s) => s.name), ...(extra === undefined ? [] : [extra])].join('/');
    while (todo.length) {
      const c = todo.shift()!;
      if (!cur.searchable) throw errno('EACCES', syscall, p);
      if (c === '.') continue;
      if (c === '..') {
        stack.pop();
        cur = stack.length ? stack[stack.length - 1].node : root;
        continue;
      }
      const next = cur.children.get(c);
      if (!next) throw errno('ENOENT', syscall, p);
      if (next.kind === 'symlink' && (todo.length > 0 || follow)) {
        if (++links > 40) throw errno('ELOOP', syscall, p);
        if (next.target.startsWith('/')) {
          stack.length = 0;
          cur = root;
        }
        todo.unshift(...next.target.split('/').filter(Boolean));
        continue;
      }
      if (todo.length === 0) return { node: next, real: realOf(c) };
      if (next.kind !== 'dir') throw errno('ENOTDIR', syscall, p);
      stack.push({ node: next, name: c });
      cur = next;
    }
    return { node: cur, real: realOf() };
  };
  const statOf = (n: Node): FsStat => ({
    isDirectory: () => n.kind === 'dir',
    isFile: () => n.kind === 'file',
    isSymbolicLink: () => n.kind === 'symlink',
  });
  const orMissing = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };

  const mounts: MountEntry[] = [];
  for (const [i, m] of (spec.mounts ?? ['/']).entries()) {
    const above = [...mounts].reverse().find((x) => x.mountPoint === '/' || m.startsWith(x.mountPoint + '/'));
    mounts.push({ id: i + 1, parent: above?.id ?? 0, mountPoint: m });
  }

  return {
    put,
    remove: (p) => dirAt(path.dirname(p)).children.delete(path.basename(p)),
    lstat: (p) => orMissing(() => statOf(lookup(p, false, 'lstat').node)),
    stat: (p) => orMissing(() => statOf(lookup(p, true, 'stat').node)),
    realpath: (p) => lookup(p, true, 'realpath').real,
    readlink: (p) => {
      const { node } = lookup(p, false, 'readlink');
      if (node.kind !== 'symlink') throw errno('EINVAL', 'readlink', p);
      return node.target;
    },
    readdir: (p) => {
      const { node } = lookup(p, true, 'scandir');
      if (node.kind !== 'dir') throw errno('ENOTDIR', 'scandir', p);
      if (!node.searchable) throw errno('EACCES', 'scandir', p);
      return [...node.children.keys()].sort();
    },
    readFile: (p) => {
      const { node } = lookup(p, true, 'open');
      if (node.kind === 'dir') throw errno('EISDIR', 'read', p);
      return (node as { content: string }).content;
    },
    exists: (p) => {
      try {
        lookup(p, true, 'stat');
        return true;
      } catch {
        return false;
      }
    },
    identity: (p) => orMissing(() => `1:${lookup(p, false, 'lstat').node.ino}`),
    mounts: () => mounts.map((m) => ({ ...m })),
    arch: () => spec.arch ?? 'x64',
    env: (name) => spec.env?.[name],
    uid: () => spec.uid ?? 1000,
    packageDir: () => spec.packageDir ?? '/opt/sbx-native',
    mainScript: () => spec.mainScript,
  };
}
