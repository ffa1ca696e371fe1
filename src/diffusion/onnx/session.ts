import { access } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { firstLine, KomaError } from '../../domain/errors.js';
import { cudaFallbackWarning, type ExecutionProviderName, selectExecutionProviders } from './providers.js';

/**
 * One ONNX model file behind a small typed wrapper (text encoder, UNet, VAE…).
 * Sessions are loaded from the file path so onnxruntime reads the weights
 * itself (no second copy in JS), created once and reused, and released on unload.
 * Note: `run` blocks the event loop inside onnxruntime; callers that must stay
 * responsive run components in a worker thread.
 */
export interface TensorInfo {
  type: string;
  shape: ReadonlyArray<number | string>;
}

export interface LoadOptions {
  executionProvider?: ExecutionProviderName;
  intraOpNumThreads?: number;
  /** Where fallback warnings go (default: stderr). */
  warn?: (line: string) => void;
}

/**
 * What the pipeline needs of a model component. `OnnxComponent` runs it in this
 * thread; `ThreadedComponent` (inference-thread.ts) runs it in a worker thread
 * so the event loop stays free. The pipeline cannot tell them apart.
 */
export interface InferenceComponent {
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  inputInfo(name: string): TensorInfo;
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

export class OnnxComponent implements InferenceComponent {
  private constructor(
    readonly path: string,
    private session: ort.InferenceSession | null,
    readonly providers: ExecutionProviderName[],
  ) {}

  static async load(path: string, options: LoadOptions = {}): Promise<OnnxComponent> {
    try {
      await access(path);
    } catch {
      throw new KomaError('model', `model file ${path} is missing`);
    }
    const warn = options.warn ?? ((line: string) => process.stderr.write(`koma: warning: ${line}\n`));
    const wanted = options.executionProvider ?? 'cpu';
    const choice = selectExecutionProviders(wanted, ort.listSupportedBackends());
    if (choice.warning) warn(choice.warning);
    const create = (providers: ExecutionProviderName[]) =>
      ort.InferenceSession.create(path, {
        executionProviders: providers,
        graphOptimizationLevel: 'all',
        // A GPU attempt that fails is reported by our one-line warning, not onnxruntime's log.
        logSeverityLevel: providers[0] === 'cpu' ? 2 : 4,
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      });
    try {
      return new OnnxComponent(path, await create(choice.providers), choice.providers);
    } catch (error) {
      if (choice.providers[0] !== 'cpu') {
        warn(cudaFallbackWarning(wanted, error));
        try {
          return new OnnxComponent(path, await create(['cpu']), ['cpu']);
        } catch (cpuError) {
          throw loadError(path, cpuError);
        }
      }
      throw loadError(path, error);
    }
  }

  private get live(): ort.InferenceSession {
    if (!this.session) throw new Error(`${this.path} was released`);
    return this.session;
  }

  get inputNames(): readonly string[] {
    return this.live.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.live.outputNames;
  }

  /** Type and shape of an input (symbolic dims as names), from the model itself. */
  inputInfo(name: string): TensorInfo {
    const meta = this.live.inputMetadata.find((m) => m.name === name);
    if (!meta || !meta.isTensor) throw new KomaError('model', `${this.path} has no tensor input "${name}"`);
    return { type: meta.type, shape: meta.shape };
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return (await this.live.run(feeds)) as Record<string, ort.Tensor>;
  }

  async release(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}

function loadError(path: string, error: unknown): KomaError {
  return new KomaError('model', `cannot load ${path}: ${firstLine(error)}`);
}

/** A timestep tensor in the dtype the UNet declares (exports differ: int64 or float32). */
export function timestepTensor(t: number, info: TensorInfo, batch = 1): ort.Tensor {
  // Exports declare a scalar, a fixed [1] (one timestep for the whole batch) or [batch].
  const dims = info.shape.length === 0 ? [] : info.shape[0] === 1 ? [1] : [batch];
  const count = dims.length === 0 ? 1 : dims[0]!;
  if (info.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: count }, () => BigInt(Math.round(t))), dims);
  if (info.type === 'float32') return new ort.Tensor('float32', Float32Array.from({ length: count }, () => t), dims);
  throw new KomaError('model', `unsupported timestep type ${info.type}; export the UNet with an int64 or float32 timestep`);
}
