// Classic BPF as seccomp uses it: the instructions, a small assembler with
// labels, the kernel's wire format, and an interpreter for the subset we emit
// (tests and --dry-run checks). lib/seccomp.ts writes the program with it.

// linux/filter.h, linux/bpf_common.h
const BPF = {
  LD: 0x00,
  JMP: 0x05,
  RET: 0x06,
  W: 0x00,
  ABS: 0x20,
  JA: 0x00,
  JEQ: 0x10,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
} as const;
export const OP = {
  LD_W_ABS: BPF.LD | BPF.W | BPF.ABS,
  JEQ_K: BPF.JMP | BPF.JEQ | BPF.K,
  JGE_K: BPF.JMP | BPF.JGE | BPF.K,
  JSET_K: BPF.JMP | BPF.JSET | BPF.K,
  JA: BPF.JMP | BPF.JA,
  RET_K: BPF.RET | BPF.K,
} as const;

/** struct seccomp_data offsets (little-endian: the low word of an argument comes first). */
export const DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
} as const;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Max instructions in one classic-BPF program (linux/bpf_common.h BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

type Target = string | 0; // a label, or 0 for the next instruction
interface Pending {
  label?: string;
  code: number;
  jt?: Target;
  jf?: Target;
  k: number;
}

/** A tiny assembler: conditional jumps name labels; offsets are resolved at the end (forward only, < 256). */
export class Asm {
  private insns: Pending[] = [];
  private pendingLabel: string | undefined;
  label(name: string): this {
    if (this.pendingLabel) throw new Error(`two labels on one instruction: ${this.pendingLabel}, ${name}`);
    this.pendingLabel = name;
    return this;
  }
  private push(p: Pending): this {
    this.insns.push({ ...p, label: this.pendingLabel });
    this.pendingLabel = undefined;
    return this;
  }
  ld(offset: number): this {
    return this.push({ code: OP.LD_W_ABS, k: offset });
  }
  jeq(k: number, jt: Target, jf: Target = 0): this {
    return this.push({ code: OP.JEQ_K, k, jt, jf });
  }
  jge(k: number, jt: Target, jf: Target = 0): this {
    return this.push({ code: OP.JGE_K, k, jt, jf });
  }
  jset(k: number, jt: Target, jf: Target = 0): this {
    return this.push({ code: OP.JSET_K, k, jt, jf });
  }
  ret(k: number): this {
    return this.push({ code: OP.RET_K, k });
  }
  build(): Insn[] {
    if (this.pendingLabel) throw new Error(`label without instruction: ${this.pendingLabel}`);
    const at = new Map<string, number>();
    this.insns.forEach((p, i) => {
      if (p.label === undefined) return;
      if (at.has(p.label)) throw new Error(`duplicate label ${p.label}`);
      at.set(p.label, i);
    });
    const off = (from: number, t: Target | undefined): number => {
      if (t === undefined || t === 0) return 0;
      const to = at.get(t);
      if (to === undefined) throw new Error(`unknown label ${t}`);
      const d = to - from - 1;
      if (d < 0 || d > 255) throw new Error(`jump to ${t} out of range (${d})`);
      return d;
    };
    const out = this.insns.map((p, i) => ({ code: p.code, jt: off(i, p.jt), jf: off(i, p.jf), k: p.k >>> 0 }));
    if (out.length > BPF_MAXINSNS) throw new Error(`seccomp program too long: ${out.length}`);
    return out;
  }
}

/** struct sock_filter[] as the kernel reads it (u16 code, u8 jt, u8 jf, u32 k; little-endian on both arches). */
export function encodeFilter(insns: Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    b.writeUInt16LE(x.code, i * 8);
    b.writeUInt8(x.jt, i * 8 + 2);
    b.writeUInt8(x.jf, i * 8 + 3);
    b.writeUInt32LE(x.k >>> 0, i * 8 + 4);
  });
  return b;
}

export function decodeFilter(b: Buffer): Insn[] {
  if (b.length % 8) throw new Error('seccomp program length is not a multiple of 8');
  const out: Insn[] = [];
  for (let i = 0; i < b.length; i += 8) out.push({ code: b.readUInt16LE(i), jt: b[i + 2], jf: b[i + 3], k: b.readUInt32LE(i + 4) });
  return out;
}

/** A classic-BPF interpreter for the subset we emit, for tests and --dry-run checks. */
export function runFilter(insns: Insn[], data: { nr: number; arch: number; args?: (number | bigint)[] }): number {
  const args = (data.args ?? []).map((x) => BigInt.asUintN(64, BigInt(x)));
  const word = (off: number): number => {
    if (off === DATA.nr) return data.nr >>> 0;
    if (off === DATA.arch) return data.arch >>> 0;
    if (off >= 16 && off < 64 && off % 4 === 0) {
      const v = args[Math.floor((off - 16) / 8)] ?? 0n;
      return Number((off % 8 === 0 ? v : v >> 32n) & 0xffffffffn);
    }
    throw new Error(`load from unsupported offset ${off}`);
  };
  let acc = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const x = insns[pc];
    switch (x.code) {
      case OP.LD_W_ABS:
        acc = word(x.k);
        break;
      case OP.JEQ_K:
        pc += acc === x.k ? x.jt : x.jf;
        break;
      case OP.JGE_K:
        pc += acc >= x.k ? x.jt : x.jf;
        break;
      case OP.JSET_K:
        pc += (acc & x.k) >>> 0 ? x.jt : x.jf;
        break;
      case OP.JA:
        pc += x.k;
        break;
      case OP.RET_K:
        return x.k >>> 0;
      default:
        throw new Error(`unsupported instruction ${x.code}`);
    }
  }
  throw new Error('fell off the end of the program');
}
