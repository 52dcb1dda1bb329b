// SPDX-License-Identifier: GPL-2.0-only
/**
 * A small WebAssembly binary writer: one imported memory, functions of
 * i32/i64/f64 values, their exports. Enough to emit page-table walks
 * generated from format data (src/pgtable/wasm-path.ts); nothing else uses
 * it.
 *
 * Why written here rather than taken from a library: the assemblers on npm
 * (wabt, binaryen) are megabytes of compiled C++ that load asynchronously,
 * while a page table is created synchronously and needs some forty opcodes.
 * The encoding follows the WebAssembly core specification (binary format,
 * chapter 5): LEB128 integers, sections in order, one code body per
 * function.
 */

export type ValType = 'i32' | 'i64' | 'f64';
const VALTYPE: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f64: 0x7c };

/** Opcodes without immediates, by their text-format names (a prefixed one as its two bytes). */
const PLAIN = {
  unreachable: 0x00,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b,
  'i32.le_u': 0x4d,
  'i32.ge_s': 0x4e,
  'i32.ge_u': 0x4f,
  'i64.eqz': 0x50,
  'i64.eq': 0x51,
  'i64.ne': 0x52,
  'i64.lt_u': 0x54,
  'i64.gt_u': 0x56,
  'i64.le_u': 0x58,
  'i64.ge_u': 0x5a,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.xor': 0x73,
  'i32.shl': 0x74,
  'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'i64.add': 0x7c,
  'i64.sub': 0x7d,
  'i64.mul': 0x7e,
  'i64.and': 0x83,
  'i64.or': 0x84,
  'i64.xor': 0x85,
  'i64.shl': 0x86,
  'i64.shr_u': 0x88,
  'f64.eq': 0x61,
  'f64.ne': 0x62,
  'f64.lt': 0x63,
  'f64.ge': 0x66,
  'f64.trunc': 0x9d,
  'f64.add': 0xa0,
  'f64.mul': 0xa2,
  'i32.wrap_i64': 0xa7,
  'i32.trunc_f64_u': 0xab,
  'i64.extend_i32_u': 0xad,
  'f64.convert_i32_u': 0xb8,
  'f64.convert_i64_s': 0xb9,
  // The 0xfc prefix's non-trapping float-to-int conversion.
  'i64.trunc_sat_f64_s': [0xfc, 0x06],
} as const;
export type PlainOp = keyof typeof PLAIN;

/** Memory access opcodes and their natural alignment (log2 bytes). */
const MEMORY = {
  'i32.load': [0x28, 2],
  'i64.load': [0x29, 3],
  'i32.load8_s': [0x2c, 0],
  'i32.load8_u': [0x2d, 0],
  'i32.store': [0x36, 2],
  'i64.store': [0x37, 3],
  'f64.store': [0x39, 3],
} as const;
export type MemoryOp = keyof typeof MEMORY;

function uleb(out: number[], v: number): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: bigint): void {
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** One function's code, written instruction by instruction. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** A new local of this type; returns its index (parameters come first). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(name: PlainOp): this {
    const c: number | readonly number[] = PLAIN[name];
    if (typeof c === 'number') this.code.push(c);
    else this.code.push(...c);
    return this;
  }
  get(i: number): this {
    this.code.push(0x20);
    uleb(this.code, i);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(this.code, i);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(this.code, i);
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41);
    sleb(this.code, BigInt(v | 0));
    return this;
  }
  /** An i64 constant; a bigint is taken modulo 2^64. */
  i64(v: number | bigint): this {
    this.code.push(0x42);
    sleb(this.code, BigInt.asIntN(64, BigInt(v)));
    return this;
  }
  f64(v: number): this {
    this.code.push(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(...b);
    return this;
  }
  /** A load or store with a constant offset added to the address on the stack. */
  mem(name: MemoryOp, offset = 0): this {
    const [code, align] = MEMORY[name];
    this.code.push(code, align);
    uleb(this.code, offset);
    return this;
  }
  /** block / loop / if with an empty or single-value result; close it with end(). */
  block(result?: ValType): this {
    return this.open(0x02, result);
  }
  loop(): this {
    return this.open(0x03);
  }
  if(result?: ValType): this {
    return this.open(0x04, result);
  }
  else(): this {
    this.code.push(0x05);
    return this;
  }
  end(): this {
    this.code.push(0x0b);
    return this;
  }
  /** br / br_if to the label `depth` blocks out. */
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(this.code, depth);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(this.code, depth);
    return this;
  }

  private open(code: number, result?: ValType): this {
    this.code.push(code, result === undefined ? 0x40 : VALTYPE[result]);
    return this;
  }

  /** The function body: local declarations, code, closing end. */
  body(): number[] {
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.locals)
      if (runs.length > 0 && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
      else runs.push([1, t]);
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(VALTYPE[t]);
    }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(sized, out.length);
    return sized.concat(out);
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  /** In 64 KiB pages. */
  readonly initial: number;
  readonly maximum: number;
  readonly shared: boolean;
}

/** A module: one imported memory and exported functions. */
export class ModuleBuilder {
  private readonly funcs: { name: string; f: FuncBuilder }[] = [];

  constructor(private readonly memory: MemoryImport) {}

  func(name: string, params: readonly ValType[], results: readonly ValType[]): FuncBuilder {
    const f = new FuncBuilder(params, results);
    this.funcs.push({ name, f });
    return f;
  }

  bytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(out, content.length);
      out.push(...content);
    };
    const name = (s: string, to: number[]) => {
      const b = new TextEncoder().encode(s);
      uleb(to, b.length);
      to.push(...b);
    };
    const vec = <T>(items: readonly T[], each: (t: T, to: number[]) => void) => {
      const c: number[] = [];
      uleb(c, items.length);
      for (const it of items) each(it, c);
      return c;
    };
    // Types: one per function, in order.
    section(
      1,
      vec(this.funcs, ({ f }, c) => {
        c.push(0x60);
        uleb(c, f.params.length);
        for (const p of f.params) c.push(VALTYPE[p]);
        uleb(c, f.results.length);
        for (const r of f.results) c.push(VALTYPE[r]);
      }),
    );
    const m = this.memory;
    section(
      2,
      vec([m], (mi, c) => {
        name(mi.module, c);
        name(mi.name, c);
        c.push(0x02, mi.shared ? 0x03 : 0x01);
        uleb(c, mi.initial);
        uleb(c, mi.maximum);
      }),
    );
    section(
      3,
      vec(
        this.funcs.map((_, i) => i),
        (i, c) => uleb(c, i),
      ),
    );
    section(
      7,
      vec(
        this.funcs.map(({ name: n }, i) => [n, i] as const),
        ([n, i], c) => {
          name(n, c);
          c.push(0x00);
          uleb(c, i);
        },
      ),
    );
    section(
      10,
      vec(this.funcs, ({ f }, c) => c.push(...f.body())),
    );
    return Uint8Array.from(out);
  }
}

/**
 * The parts of the WebAssembly JavaScript API used here, typed locally: the
 * project builds against ES2022 and Node's types, neither of which declares
 * the WebAssembly namespace (lib.dom does).
 */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export type WasmExports = Record<string, (...args: number[]) => number>;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: Record<string, Record<string, unknown>>) => { exports: WasmExports };
}
const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A shared memory of `initial` pages that can grow to `maximum`. */
export function newSharedMemory(initial: number, maximum: number): WasmMemory {
  return new api.Memory({ initial, maximum, shared: true });
}

/** Compiles a module (synchronously: modules here are a few kilobytes). */
export function compileModule(bytes: Uint8Array): object {
  return new api.Module(bytes);
}

/** Instantiates a compiled module with its memory; returns its exports. */
export function instantiate(module: object, memory: WasmMemory): WasmExports {
  return new api.Instance(module, { env: { memory } }).exports;
}
