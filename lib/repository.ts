// The repository model (docs/policy.md): what in a git directory makes git
// run code or look at another repository, which layout.ts keeps read-only or
// refuses to have made. The rest of the git directory stays writable, so a
// sandboxed command commits; init refuses a new repository (layout.newNames).
import path from 'path';
import { canonicalPath, FsStat, FsView, Listing, realOrUndefined } from './fsview';

/**
 * In a git directory (gitrepository-layout, git-config, githooks): kept
 * read-only when it exists, refused when it does not. `modules` holds the
 * submodules' repositories, their config and hooks with their objects:
 * read-only as a whole. Everything else (objects, refs, HEAD, the index,
 * logs, packed-refs, info/) stays writable.
 */
export const GIT_CODE_PATHS = ['config', 'config.worktree', 'hooks', 'commondir', 'modules'];
/** The same in a linked worktree's entry (`worktrees/NAME`): its config and the pointers to its common directory and work tree. */
const WORKTREE_CODE_PATHS = ['config.worktree', 'commondir', 'gitdir'];
/**
 * A directory inside a git directory that holds a HEAD (logs/, a remote's
 * refs/remotes/NAME/) would be a git directory of its own with `objects`
 * (or a `commondir`) beside it, its config the command's, found by git run
 * in it or through a symlink to it: those names are refused there.
 */
const NOT_A_GIT_DIRECTORY = ['objects', 'commondir'];

/**
 * What init checks in every git directory, found by the layout or not
 * (native/helper/supervisor/git_control.cc applies it and names nothing
 * itself). A git directory is one git takes for one (setup.c
 * is_git_directory): it holds `head` and one of the `dirs` sets; any entry
 * counts, so the test is never narrower than git's. In one, `control` (read
 * as config, followed to another git directory) and `trees` (run, with all
 * below) cannot be written, made, replaced, linked, moved or chmod-ed. Where
 * a `head` is but no git directory (a remote's refs/remotes/NAME, logs/), the
 * last missing name of a `dirs` set cannot be made, so a branch named
 * `config` is fetched and the directory never becomes a repository. `entry` is a work
 * tree's, a `gitdir:` pointer when a file; `logs`/HEAD is the head's reflog.
 */
export const GIT_MODEL = {
  control: ['config', 'config.worktree', 'commondir', 'gitdir'],
  trees: ['hooks'],
  head: 'HEAD',
  dirs: [['objects', 'refs'], ['commondir']],
  entry: '.git',
  logs: 'logs',
  /**
   * What git's sequencer (`rebase -i`, a cherry-pick or revert of several
   * commits) reads at `--continue` to decide what it runs (sequencer.c):
   * each `DIR/NAME` in a git directory, with the check its contents must
   * pass. `commands`: every line that starts with a letter starts with one of
   * `todoCommands` (an `exec` line runs a shell command); `value`: the file
   * is one of `strategies` (another strategy is a program, `git
   * merge-NAME`, and a NAME with a slash is a path); `key=K`: a config file
   * whose K is one of `strategies`. Init refuses writing one in place and
   * checks a file renamed onto one (git writes NAME.lock and renames it),
   * then installs a copy it wrote itself, so no fd the command kept can
   * change what was checked. `DIR` cannot be renamed or symlinked into a
   * git directory (it would bring its files unchecked).
   */
  state: [
    ['rebase-merge/git-rebase-todo', 'commands'],
    ['sequencer/todo', 'commands'],
    ['rebase-merge/strategy', 'value'],
    ['sequencer/opts', 'key=strategy'],
  ],
  /**
   * The to-do commands that run nothing but git (sequencer.c
   * todo_command_info, with their one-letter forms): all but `exec`/`x`. A
   * command a later git adds is refused until it is listed here.
   */
  todoCommands: [
    ...['pick', 'p', 'revert', 'edit', 'e', 'reword', 'r', 'fixup', 'f', 'squash', 's', 'break', 'b'],
    ...['label', 'l', 'reset', 't', 'merge', 'm', 'update-ref', 'u', 'noop', 'drop', 'd'],
  ],
  /**
   * Strategies git runs in its own process, which take only the options
   * they know (-X): `resolve` and `octopus` are scripts that hand theirs to
   * other commands, and any other name is a program found on PATH.
   */
  strategies: ['ort', 'recursive', 'ours', 'subtree'],
  /** The most of a state file init reads to check it: a to-do list of 100,000 commits is about 6 MiB. */
  stateMax: 16 << 20,
} as const;

/** GIT_MODEL as the supervise step's arguments (native/helper/supervisor/listener.cc). */
export function gitModelArgs(): string[] {
  return [
    ...GIT_MODEL.control.map((n) => `git-control=${n}`),
    ...GIT_MODEL.trees.map((n) => `git-control=${n}/`),
    `git-head=${GIT_MODEL.head}`,
    ...GIT_MODEL.dirs.map((set) => `git-dir=${set.join('+')}`),
    `git-entry=${GIT_MODEL.entry}`,
    `git-logs=${GIT_MODEL.logs}`,
    ...GIT_MODEL.state.map(([file, check]) => `git-state=${file}:${check}`),
    ...GIT_MODEL.todoCommands.map((w) => `git-state-word=${w}`),
    ...GIT_MODEL.strategies.map((v) => `git-state-value=${v}`),
    `git-state-max=${GIT_MODEL.stateMax}`,
  ];
}

/** The path a `.git` file (`gitdir: X`) or a `commondir` file names, resolved from its directory; undefined if it names none. */
function pointer(file: string, prefix: string, view: FsView): string | undefined {
  let text: string;
  try {
    text = view.readFile(file);
  } catch {
    return undefined;
  }
  if (!text.startsWith(prefix)) return undefined;
  const target = text.slice(prefix.length).split('\n')[0].trim();
  return target ? path.resolve(path.dirname(file), target) : undefined;
}

/**
 * From a git config: the files it includes (`[include]` and `[includeIf ...]`
 * `path = X`, whatever the condition; relative to the config's directory)
 * and `core.hooksPath` (relative to the work tree, where hooks run).
 */
function configPaths(
  config: string,
  workTree: string | undefined,
  home: string | undefined,
  view: FsView,
): { includes: string[]; hooksPath: string[] } {
  const out = { includes: [] as string[], hooksPath: [] as string[] };
  let text: string;
  try {
    text = view.readFile(config);
  } catch {
    return out;
  }
  let section = '';
  const expand = (v: string, from: string | undefined) =>
    v.startsWith('~/')
      ? home
        ? path.join(home, v.slice(2))
        : undefined
      : from || path.isAbsolute(v)
        ? path.resolve(from ?? '/', v)
        : undefined;
  for (const line of text.split('\n')) {
    const head = /^\s*\[\s*([A-Za-z0-9.-]+)/.exec(line);
    if (head) section = head[1].toLowerCase();
    const m = /^\s*(?:\[[^\]]*\]\s*)?([A-Za-z][A-Za-z0-9-]*)\s*=\s*("?)(.*?)\2\s*(?:[#;].*)?$/.exec(line);
    if (!m || !m[3]) continue;
    const key = m[1].toLowerCase();
    const p =
      (section === 'include' || section === 'includeif') && key === 'path'
        ? expand(m[3], path.dirname(config))
        : section === 'core' && key === 'hookspath'
          ? expand(m[3], workTree)
          : undefined;
    if (p) (key === 'path' ? out.includes : out.hooksPath).push(p);
  }
  return out;
}

/** What the layout lends the model: its view of the host and its ways to protect a path. */
export interface RepositoryContext {
  view: FsView;
  home: string | undefined;
  writableAt(p: string): boolean;
  /** A name under a real directory, resolved as the kernel does: symlinks pinned, a missing end refused; the end when it exists and is writable. */
  guardName(base: string, name: string, present: Listing, why: string): { end: string; st: FsStat } | undefined;
  /** Kept read-only, and the directories above it kept where they are. */
  pin(p: string, why: string): void;
  /** Refused when made (a path that does not exist). */
  missing(p: string): void;
  readdir(d: string): Listing;
}

export function repositoryModel(ctx: RepositoryContext) {
  const { view, writableAt, guardName, pin } = ctx;
  const done = new Set<string>();
  const queue: [string, string, string | undefined][] = []; // git directory, why, its work tree
  const modules = new Set<string>(); // pinned as a whole: a repository under one is read-only already
  const inModules = (p: string) => {
    for (let d = p; d !== '/'; d = path.dirname(d)) if (modules.has(d)) return true;
    return false;
  };
  /** Where a new HEAD may be made: each repository's own, and a linked worktree's. */
  const newAllow: string[] = [];
  /** The git directories found (each repository's, each linked worktree's entry): init keeps their sequencer files whatever they hold meanwhile. */
  const gitDirs: string[] = [];
  const pinnedFiles: string[] = [];
  const isLink = (p: string) => {
    try {
      return !!view.lstat(p)?.isSymbolicLink();
    } catch {
      return false;
    }
  };
  const has = (p: string) => {
    try {
      return !!view.lstat(p);
    } catch {
      return false;
    }
  };

  // A file an existing config includes, or the hooks directory it names, in a writable area: pinned, or refused.
  const guardFile = (p: string, why: string) => {
    const c = canonicalPath(view, p, false);
    if (!c || !writableAt(c)) return;
    let st: FsStat | undefined;
    try {
      st = view.lstat(c);
    } catch {
      return;
    }
    if (!st) return ctx.missing(c);
    pin(c, why);
    const target = st.isSymbolicLink() ? realOrUndefined(view, c) : undefined;
    if (target && writableAt(target)) pin(target, `${why} (symlink target)`);
    return target ?? c;
  };
  // The hooks git runs are a hooks directory's entries: each may have a
  // second name (a hard link) outside the bind, and one that is a symlink
  // runs its target (kept read-only, or refused when missing).
  const hookEntries = (dir: string, why: string) => {
    let st: FsStat | undefined;
    try {
      st = view.lstat(dir);
    } catch {
      return;
    }
    if (!st?.isDirectory()) return;
    const hooks = ctx.readdir(dir);
    for (const h of hooks) {
      pinnedFiles.push(`${dir}/${h}`);
      if (!isLink(`${dir}/${h}`)) continue;
      const t = guardName(dir, h, hooks, `${why}/${h} (symlink target)`);
      if (t) {
        pin(t.end, `${why}/${h} (symlink target)`);
        pinnedFiles.push(t.end);
      }
    }
  };

  // A found modules/ is read-only as a whole, but a hard link made before the
  // sandbox is a second name outside that bind: the control files and hooks
  // of every submodule repository in it (nested ones too) are guarded by inode.
  const moduleRepositories = (dir: string, why: string) => {
    let entries: Listing;
    try {
      entries = ctx.readdir(dir);
    } catch {
      return;
    }
    if (entries.has(GIT_MODEL.head)) {
      for (const n of GIT_MODEL.control) if (entries.has(n)) pinnedFiles.push(`${dir}/${n}`);
      for (const t of GIT_MODEL.trees) if (entries.has(t)) hookEntries(`${dir}/${t}`, `${why}: ${t}`);
      if (entries.has('modules')) moduleRepositories(`${dir}/modules`, `${why}: modules`);
      return;
    }
    // A submodule's name may hold slashes: its repository lies deeper.
    for (const n of entries) {
      try {
        if (view.lstat(`${dir}/${n}`)?.isDirectory()) moduleRepositories(`${dir}/${n}`, `${why}/${n}`);
      } catch {
        /* gone meanwhile: nothing to guard */
      }
    }
  };

  const repository = (g: string, why: string, workTree: string | undefined) => {
    if (done.has(g) || !writableAt(g) || inModules(g)) return;
    done.add(g);
    const present = ctx.readdir(g);
    for (const n of GIT_CODE_PATHS) {
      const e = guardName(g, n, present, `${why}: ${n}`);
      if (e) pin(e.end, `${why}: ${n}`);
      if (e && n === 'modules') {
        modules.add(e.end);
        moduleRepositories(e.end, `${why}: modules`);
      }
      // The hooks git runs are its entries: each may have a second name (a hard link) outside the bind.
      if (e && (GIT_MODEL.trees as readonly string[]).includes(n)) hookEntries(e.end, `${why}: ${n}`);
    }
    newAllow.push(`${g}/HEAD`, `${g}/logs/HEAD`);
    gitDirs.push(g);
    // Where a HEAD is (or may be made: logs/HEAD), no git directory may grow.
    const heads = [`${g}/logs`];
    for (const [refs, logs] of [[`${g}/refs/remotes`, `${g}/logs/refs/remotes`]]) {
      for (const r of present.has('refs') ? ctx.readdir(refs) : []) if (has(`${refs}/${r}/HEAD`)) heads.push(`${refs}/${r}`);
      for (const r of present.has('logs') ? ctx.readdir(logs) : []) if (has(`${logs}/${r}/HEAD`)) heads.push(`${logs}/${r}`);
    }
    const cfg = configPaths(`${g}/config`, workTree, ctx.home, view);
    for (const inc of cfg.includes) guardFile(inc, `${why}: included by config`);
    for (const hooks of cfg.hooksPath) {
      const d = guardFile(hooks, `${why}: core.hooksPath`);
      if (d) hookEntries(d, `${why}: core.hooksPath`);
    }
    if (present.has('worktrees')) {
      for (const n of ctx.readdir(`${g}/worktrees`)) {
        const wt = `${g}/worktrees/${n}`;
        if (!view.lstat(wt)?.isDirectory()) continue;
        const inner = ctx.readdir(wt);
        for (const f of WORKTREE_CODE_PATHS) {
          const e = guardName(wt, f, inner, `${why}: worktrees/${n}/${f}`);
          if (e) pin(e.end, `${why}: worktrees/${n}/${f}`);
        }
        newAllow.push(`${wt}/HEAD`, `${wt}/logs/HEAD`);
        gitDirs.push(wt);
        heads.push(`${wt}/logs`);
      }
    }
    for (const d of heads) for (const n of NOT_A_GIT_DIRECTORY) guardFile(`${d}/${n}`, `${why}: ${path.relative(g, d)} holds a HEAD`);
    const common = present.has('commondir') ? pointer(`${g}/commondir`, '', view) : undefined;
    const real = common && realOrUndefined(view, common);
    if (real) queue.push([real, `${why} (common directory)`, workTree]);
  };

  return {
    newAllow,
    gitDirs,
    pinnedFiles,
    /**
     * A `.git` at a protected place: a directory is a repository; a file is
     * pinned whatever it holds (an empty marker must not become a `gitdir:`
     * pointer), and the directory a `gitdir:` names is a repository.
     */
    gitEntry(e: { end: string; st: FsStat }, why: string): void {
      const workTree = path.dirname(e.end);
      if (e.st.isDirectory()) {
        queue.push([e.end, why, workTree]);
        return;
      }
      pin(e.end, why);
      const target = e.st.isFile() ? pointer(e.end, 'gitdir:', view) : undefined;
      const real = target && realOrUndefined(view, target);
      if (real) queue.push([real, `${why} (gitdir)`, workTree]);
    },
    /**
     * A git directory that is no `.git` entry (a bare repository): hooks run
     * in it, so a relative `core.hooksPath` is taken from it.
     */
    gitDirectory(g: string, why: string): void {
      queue.push([g, why, g]);
    },
    /** The submodules a root's `.gitmodules` names: their `.git` files (pointers into modules/), as protected `.git`s. */
    submodules(base: string): void {
      let text = '';
      try {
        text = view.readFile(path.join(base, '.gitmodules'));
      } catch {
        /* unreadable: git cannot use it either */
      }
      for (const m of text.matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)) {
        const rel = m[1].replace(/^"(.*)"$/, '$1');
        if (path.isAbsolute(rel) || rel.split('/').includes('..')) continue;
        const e = guardName(base, `${rel}/.git`, new Set([rel.split('/')[0]]), `submodule ${rel}`);
        if (e) this.gitEntry(e, `submodule ${rel}`);
      }
    },
    /**
     * Guards the repositories found, shallow first (so one under another's
     * `modules` is seen to be read-only); whether there were any (a linked
     * worktree's entry and its common directory may name one path twice).
     */
    finish(): boolean {
      while (queue.length) {
        const batch = queue.splice(0).sort((a, b) => a[0].split('/').length - b[0].split('/').length);
        for (const [g, why, workTree] of batch) repository(g, why, workTree);
      }
      return done.size > 0;
    },
  };
}
