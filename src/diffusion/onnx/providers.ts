import { firstLine } from '../../domain/errors.js';

/**
 * Which onnxruntime execution providers to ask for. CPU always works; CUDA and
 * TensorRT need provider libraries that onnxruntime-node downloads at install
 * time (skipped here by `.npmrc`) plus CUDA 12 + cuDNN 9 on LD_LIBRARY_PATH.
 * When the wanted one is missing we fall back to CPU and say once why.
 */
export type ExecutionProviderName = 'cpu' | 'cuda' | 'tensorrt';

export interface BackendInfo {
  name: string;
  /** False for providers whose libraries are downloaded separately. */
  bundled: boolean;
}

export interface ProviderChoice {
  providers: ExecutionProviderName[];
  /** One line for the log when the wanted provider cannot be used. */
  warning?: string;
}

const INSTALL_HINT =
  'reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (instead of the skip in .npmrc) on a machine that can reach its download feed, and put CUDA 12 and cuDNN 9 on LD_LIBRARY_PATH';

/**
 * `available` comes from onnxruntime-node's `listSupportedBackends()`. A provider
 * listed but not bundled may still be usable if its libraries were installed,
 * so it is tried, with CPU after it; session creation falls back if it fails.
 */
export function selectExecutionProviders(wanted: ExecutionProviderName, available: readonly BackendInfo[]): ProviderChoice {
  if (wanted === 'cpu') return { providers: ['cpu'] };
  const entry = available.find((b) => b.name === wanted);
  if (!entry) {
    return { providers: ['cpu'], warning: `${wanted} is not supported by this onnxruntime-node build; using the CPU. To use it, ${INSTALL_HINT}.` };
  }
  const chain: ExecutionProviderName[] = wanted === 'tensorrt' ? ['tensorrt', 'cuda', 'cpu'] : ['cuda', 'cpu'];
  return { providers: chain.filter((p) => p === 'cpu' || available.some((b) => b.name === p)) };
}

export function cudaFallbackWarning(wanted: ExecutionProviderName, error: unknown): string {
  return `${wanted} could not start (${firstLine(error)}); using the CPU. To use it, ${INSTALL_HINT}.`;
}
