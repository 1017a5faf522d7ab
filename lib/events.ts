// Records the sandbox's init sends while the command runs (protocol/events.json),
// as JavaScript values.
import { errnoName } from './errors';
import { signalName } from './signals';
import {
  EVENT_DROPPED,
  EVENT_DROPPED_COUNT_OFFSET,
  EVENT_STOPPED,
  EVENT_STOPPED_SIG_OFFSET,
  EVENT_TYPE_OFFSET,
  EVENT_VIOLATION,
  EVENT_VIOLATION_COUNT_OFFSET,
  EVENT_VIOLATION_ERR_OFFSET,
  EVENT_VIOLATION_FIRST_OFFSET,
  EVENT_VIOLATION_OP_LENGTH,
  EVENT_VIOLATION_OP_OFFSET,
  EVENT_VIOLATION_PATH_OFFSET,
  EVENT_NETWORK,
  EVENT_NETWORK_ALLOWED_OFFSET,
  EVENT_NETWORK_COUNT_OFFSET,
  EVENT_NETWORK_PORT_OFFSET,
  EVENT_NETWORK_TEXT_OFFSET,
  EVENT_STARTED,
  EVENT_STARTED_INIT_OFFSET,
  EVENT_STARTED_CGROUP_OFFSET,
  EVENT_STARTED_IPC_OFFSET,
  EVENT_STARTED_MNT_OFFSET,
  EVENT_STARTED_NET_OFFSET,
  EVENT_STARTED_PID_OFFSET,
  EVENT_STARTED_UTS_OFFSET,
  EVENT_VIOLATION_RULE_OFFSET,
  VIOLATION_RULE_CHAIN_METADATA,
  VIOLATION_RULE_GIT_CONTROL,
  VIOLATION_RULE_UNIX_SOCKET,
  VIOLATION_RULE_NEW_REPOSITORY,
  VIOLATION_RULE_PROTECTED_DIR,
  VIOLATION_RULE_PROTECTED_LINK,
  VIOLATION_RULE_PROTECTED_PATH,
  VIOLATION_RULE_SETID_FILE,
  VIOLATION_RULE_PINNED_FILE,
  VIOLATION_RULE_GIT_STATE,
  VIOLATION_RULE_UNSEEN_LINK,
} from './gen/events';

/** A refusal the sandbox itself decided (the kernel's own EROFS/EACCES tell nobody: see explain()). */
export interface Violation {
  /** The syscall refused, e.g. 'mkdir', 'rename', 'chmod'. */
  op: string;
  path: string;
  /** The errno the command got, e.g. 'EROFS'. */
  errno: string;
  /** Which rule refused it, in the policy's words. */
  rule: string;
  /** How many times the command tried it. */
  count: number;
  /** A network connection (op 'connect', path 'host:port'): the host and port asked for. */
  host?: string;
  port?: number;
}

/** A connection the network proxy allowed (child.on('network')): the fields of a violation, without errno. */
export interface NetworkEvent {
  op: 'connect';
  /** host:port */
  path: string;
  host: string;
  port: number;
  /** The rule that allowed it, in the policy's words. */
  rule: string;
  count: number;
}

/** The sandbox runs (sent only when the plan's pidns_fork asks, for bwrap's --info-fd): init's host pid, the namespaces' inode numbers (0: unreadable). */
export interface SandboxStarted {
  init: number;
  namespaces: Record<'cgroup' | 'ipc' | 'mnt' | 'net' | 'pid' | 'uts', number>;
}

export type SandboxEvent =
  | { type: 'stopped'; signal: NodeJS.Signals }
  | { type: 'violation'; violation: Violation; first: boolean }
  | { type: 'dropped'; count: number }
  | { type: 'started'; started: SandboxStarted }
  | { type: 'network'; allowed: boolean; event: NetworkEvent }
  | { type: 'unknown'; code: number };

// Why init refused (protocol/events.json's violation rules), in the policy's words.
const RULES: Record<number, string> = {
  [VIOLATION_RULE_PROTECTED_PATH]: 'protected path (it does not exist; creating it is refused)',
  [VIOLATION_RULE_PROTECTED_DIR]: 'leads to a protected path (renaming it away, or anything onto it, is refused)',
  [VIOLATION_RULE_CHAIN_METADATA]: 'outside the writable roots in their shared mount (metadata is kept as it is)',
  [VIOLATION_RULE_UNIX_SOCKET]: 'a unix socket the sandbox did not bind and the policy does not allow (allowUnixSockets)',
  [VIOLATION_RULE_NEW_REPOSITORY]: 'would start a new git repository (refused unless allowGitWrites, --allow-git-writes)',
  [VIOLATION_RULE_GIT_CONTROL]: 'what git reads as config or runs, in a git directory (refused unless allowGitWrites, --allow-git-writes)',
  [VIOLATION_RULE_PROTECTED_LINK]: 'a second name of a protected file (a hard link to it; the file stays read-only by every name)',
  [VIOLATION_RULE_GIT_STATE]:
    "what git's sequencer runs at `git rebase --continue` (a to-do list's exec line, a merge strategy that is a program; the file is replaced, never written in place)",
  [VIOLATION_RULE_UNSEEN_LINK]:
    'a file with more than one name on the filesystem of a protected or read-only directory init cannot read (it may be a second name of a file there; make that directory readable, or keep such files on another filesystem)',
  [VIOLATION_RULE_PINNED_FILE]:
    'a read-only path the host replaced or removed during the run (it stays read-only: nothing there is written, made or renamed onto)',
  [VIOLATION_RULE_SETID_FILE]: 'a set-user-ID or set-group-ID file (another user who runs it outside would run as the sandbox user)',
};

const text = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');

export function decodeEvent(record: Buffer): SandboxEvent {
  const type = record.readInt32LE(EVENT_TYPE_OFFSET);
  if (type === EVENT_STOPPED) return { type: 'stopped', signal: signalName(record.readInt32LE(EVENT_STOPPED_SIG_OFFSET)) };
  if (type === EVENT_VIOLATION) {
    const rule = record.readInt32LE(EVENT_VIOLATION_RULE_OFFSET);
    return {
      type: 'violation',
      first: record.readInt32LE(EVENT_VIOLATION_FIRST_OFFSET) !== 0,
      violation: {
        op: text(record.subarray(EVENT_VIOLATION_OP_OFFSET, EVENT_VIOLATION_OP_OFFSET + EVENT_VIOLATION_OP_LENGTH)),
        path: text(record.subarray(EVENT_VIOLATION_PATH_OFFSET)),
        errno: errnoName(record.readInt32LE(EVENT_VIOLATION_ERR_OFFSET)),
        rule: RULES[rule] ?? `rule ${rule}`,
        count: record.readInt32LE(EVENT_VIOLATION_COUNT_OFFSET),
      },
    };
  }
  if (type === EVENT_NETWORK) {
    const [host, rule] = record.subarray(EVENT_NETWORK_TEXT_OFFSET).toString('utf8').split('\0');
    const port = record.readInt32LE(EVENT_NETWORK_PORT_OFFSET);
    return {
      type: 'network',
      allowed: record.readInt32LE(EVENT_NETWORK_ALLOWED_OFFSET) === 1,
      event: {
        op: 'connect',
        path: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
        host,
        port,
        rule: rule ?? '',
        count: record.readInt32LE(EVENT_NETWORK_COUNT_OFFSET),
      },
    };
  }
  if (type === EVENT_STARTED) {
    const id = (offset: number) => record.readUInt32LE(offset);
    return {
      type: 'started',
      started: {
        init: record.readInt32LE(EVENT_STARTED_INIT_OFFSET),
        namespaces: {
          cgroup: id(EVENT_STARTED_CGROUP_OFFSET),
          ipc: id(EVENT_STARTED_IPC_OFFSET),
          mnt: id(EVENT_STARTED_MNT_OFFSET),
          net: id(EVENT_STARTED_NET_OFFSET),
          pid: id(EVENT_STARTED_PID_OFFSET),
          uts: id(EVENT_STARTED_UTS_OFFSET),
        },
      },
    };
  }
  if (type === EVENT_DROPPED) return { type: 'dropped', count: record.readInt32LE(EVENT_DROPPED_COUNT_OFFSET) };
  return { type: 'unknown', code: type };
}
