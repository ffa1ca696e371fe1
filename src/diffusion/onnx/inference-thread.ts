import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { firstLine, KomaError, type KomaErrorCode } from '../../domain/errors.js';
import type { InferenceComponent, LoadOptions, TensorInfo } from './session.js';

/**
 * Model components run in a worker thread. onnxruntime-node's `session.run()`
 * is a synchronous native call that blocks the event loop for the whole
 * inference, which would freeze a Discord bot (no heartbeats, no replies). An
 * `InferenceThread` owns one worker that loads sessions with `OnnxComponent.load`
 * and runs them there; `ThreadedComponent` is its stand-in on the main thread.
 * Several components of one model (text encoder, UNet, VAE) can share a thread.
 */

/** A tensor as it crosses the thread boundary (structured clone). */
export interface WireTensor {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ort.Tensor['data'];
}

/** Calls get one reply each, matched by id. */
export type Call =
  | { kind: 'load'; id: number; path: string; options: Omit<LoadOptions, 'warn'> }
  | { kind: 'run'; id: number; component: number; feeds: Record<string, WireTensor> }
  | { kind: 'release'; id: number; component: number };

/**
 * `close`: release every session after the current call, then end the thread.
 * `exit`: end it at once, as a crash would (tests). Both are acted on only
 * between native calls: terminating a worker while onnxruntime runs aborts
 * the whole process (its binding throws into a torn-down N-API environment).
 */
export type Control = { kind: 'close' } | { kind: 'exit'; code: number };

export type Request = Call | Control;

/** A call before `InferenceThread.request` gives it its id. */
type Unsent<C = Call> = C extends Call ? Omit<C, 'id'> : never;

export type Reply =
  | { kind: 'warn'; id: number; line: string }
  | { kind: 'loaded'; id: number; component: number; inputNames: string[]; outputNames: string[]; inputs: Record<string, TensorInfo> }
  | { kind: 'ran'; id: number; outputs: Record<string, WireTensor> }
  | { kind: 'released'; id: number }
  | { kind: 'failed'; id: number; code: KomaErrorCode; message: string };

/** The tensor's data without copying it (the caller decides what to copy or transfer). */
export function toWire(tensor: ort.Tensor): WireTensor {
  return { type: tensor.type, dims: tensor.dims, data: tensor.data };
}

export function fromWire(wire: WireTensor): ort.Tensor {
  return new ort.Tensor(wire.type, wire.data as never, wire.dims);
}

const defaultWarn = (line: string) => process.stderr.write(`koma: warning: ${line}\n`);

/**
 * The worker entry next to this file: `.js` when compiled, run as is; `.ts`
 * when running from source (tsx or vitest). A worker inherits neither vitest's
 * transform nor, on Node 20, tsx's `--import` hooks (tsx registers them only in
 * the main thread), so a `.ts` worker starts from a one-line bootstrap that
 * registers tsx in the worker and then imports the entry.
 */
function spawnWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./inference-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: KomaError) => void;
  warn?: (line: string) => void;
}

/** One worker thread hosting any number of sessions. */
export class InferenceThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone; every later call rejects with it. */
  private stopped: KomaError | null = null;

  constructor() {
    this.worker = spawnWorker();
    this.worker.unref(); // only pending calls keep the process alive
    this.worker.on('message', (reply: Reply) => this.onReply(reply));
    this.worker.on('error', (error) => this.stop(`it crashed: ${firstLine(error)}`));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        this.stop(`it exited with code ${code}`);
        resolve();
      });
    });
  }

  /** Loads a model into this thread. `ownsThread`: the component's `release()` closes the thread. */
  async load(path: string, options: LoadOptions = {}, ownsThread = false): Promise<ThreadedComponent> {
    const { warn = defaultWarn, ...rest } = options;
    const reply = await this.request({ kind: 'load', path, options: rest }, [], warn);
    if (reply.kind !== 'loaded') throw new Error(`unexpected reply ${reply.kind} to load`);
    const names = { inputs: reply.inputNames, outputs: reply.outputNames };
    return new ThreadedComponent(this, reply.component, path, names, reply.inputs, ownsThread);
  }

  /**
   * Pending and later calls reject now; the worker finishes the native call it
   * may be in, releases its sessions and ends. Resolves when it has ended.
   */
  async close(): Promise<void> {
    this.stop('it was closed');
    this.send({ kind: 'close' });
    await this.exited;
  }

  /** Makes the worker die as a crash would, with calls still pending (tests). */
  async exitForTest(code = 1): Promise<void> {
    this.send({ kind: 'exit', code });
    await this.exited;
  }

  private send(message: Request, transfer: ArrayBuffer[] = []): void {
    this.worker.ref();
    this.worker.postMessage(message, transfer);
  }

  /** @internal Sends one request and waits for its reply. */
  request(message: Unsent, transfer: ArrayBuffer[] = [], warn?: (line: string) => void): Promise<Reply> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(warn ? { warn } : {}) });
      this.send({ ...message, id } as Call, transfer);
    });
  }

  /** Whether the worker has ended (crashed, exited or closed): its sessions are gone. */
  get isStopped(): boolean {
    return this.stopped !== null;
  }

  private onReply(reply: Reply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    if (reply.kind === 'warn') {
      entry.warn?.(reply.line);
      return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'failed') entry.reject(new KomaError(reply.code, reply.message));
    else entry.resolve(reply);
  }

  private stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = new KomaError('render-failed', `the inference thread stopped (${reason})`);
    for (const entry of this.pending.values()) entry.reject(this.stopped);
    this.pending.clear();
  }
}

/** A session living in an `InferenceThread`; names and input metadata are answered locally. */
export class ThreadedComponent implements InferenceComponent {
  private released = false;

  /** @internal Use `InferenceThread.load` or `ThreadedComponent.load`. */
  constructor(
    /** The thread this session lives in. */
    readonly thread: InferenceThread,
    private readonly component: number,
    readonly path: string,
    private readonly names: { inputs: readonly string[]; outputs: readonly string[] },
    private readonly inputs: Record<string, TensorInfo>,
    private readonly ownsThread: boolean,
  ) {}

  /** Loads the model in a private thread, closed again by `release()`. */
  static async load(path: string, options: LoadOptions = {}): Promise<ThreadedComponent> {
    const thread = new InferenceThread();
    try {
      return await thread.load(path, options, true);
    } catch (error) {
      await thread.close();
      throw error;
    }
  }

  private check(): void {
    if (this.released) throw new Error(`${this.path} was released`);
  }

  get inputNames(): readonly string[] {
    this.check();
    return this.names.inputs;
  }

  get outputNames(): readonly string[] {
    this.check();
    return this.names.outputs;
  }

  inputInfo(name: string): TensorInfo {
    this.check();
    const info = this.inputs[name];
    if (!info) throw new KomaError('model', `${this.path} has no tensor input "${name}"`);
    return info;
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    this.check();
    // Inputs are copied (the caller reuses its buffers); only the copies are transferred.
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, tensor] of Object.entries(feeds)) {
      const data = tensor.data.slice();
      if (!Array.isArray(data)) transfer.push(data.buffer as ArrayBuffer);
      wire[name] = { type: tensor.type, dims: tensor.dims, data };
    }
    const reply = await this.thread.request({ kind: 'run', component: this.component, feeds: wire }, transfer);
    if (reply.kind !== 'ran') throw new Error(`unexpected reply ${reply.kind} to run`);
    return Object.fromEntries(Object.entries(reply.outputs).map(([name, t]) => [name, fromWire(t)]));
  }

  /** Frees the session in the worker (and closes a private thread). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.thread.request({ kind: 'release', component: this.component });
    } catch (error) {
      if (!this.thread.isStopped) throw error; // a stopped thread has freed its sessions anyway
    }
    if (this.ownsThread) await this.thread.close();
  }
}

