import { parentPort } from 'node:worker_threads';
import { firstLine, isKomaError } from '../../domain/errors.js';
import { type Call, fromWire, type Reply, type Request, toWire, type WireTensor } from './inference-thread.js';
import { OnnxComponent, type TensorInfo } from './session.js';

/**
 * The worker side of `InferenceThread`: loads sessions with `OnnxComponent.load`
 * and runs them here, so onnxruntime's blocking `run` never stalls the main
 * thread. Calls are handled one at a time, in order; control messages act as
 * soon as they arrive, which is never during a native call (it blocks this loop).
 */
const port = parentPort;
if (!port) throw new Error('inference-worker.ts must run in a worker thread');

const components = new Map<number, OnnxComponent>();
let nextComponent = 1;
let queue = Promise.resolve();
/** Once closing, calls still queued are dropped: the main thread has rejected them. */
let closing = false;

port.on('message', (request: Request) => {
  if (request.kind === 'exit') process.exit(request.code); // ends this thread only
  if (request.kind === 'close') {
    closing = true;
    queue = queue.then(shutDown);
  } else {
    queue = queue.then(() => (closing ? undefined : handle(request)));
  }
});

async function shutDown(): Promise<void> {
  for (const component of components.values()) await component.release().catch(() => undefined);
  components.clear();
  port!.close(); // nothing keeps the thread alive now: it ends
}

function reply(message: Reply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function handle(request: Call): Promise<void> {
  const { id } = request;
  try {
    if (request.kind === 'load') {
      const component = await OnnxComponent.load(request.path, { ...request.options, warn: (line) => reply({ kind: 'warn', id, line }) });
      const inputs: Record<string, TensorInfo> = {};
      for (const name of component.inputNames) {
        try {
          inputs[name] = component.inputInfo(name);
        } catch {
          // not a tensor input: `inputInfo` on the main thread reports it
        }
      }
      const key = nextComponent++;
      components.set(key, component);
      reply({ kind: 'loaded', id, component: key, inputNames: [...component.inputNames], outputNames: [...component.outputNames], inputs });
    } else if (request.kind === 'run') {
      const component = live(request.component);
      const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, t]) => [name, fromWire(t)]));
      let outputs;
      try {
        outputs = await component.run(feeds);
      } catch (error) {
        if (isKomaError(error)) throw error;
        reply({ kind: 'failed', id, code: 'render-failed', message: `cannot run ${component.path}: ${firstLine(error)}` });
        return;
      }
      // Outputs are fresh buffers of onnxruntime's: move them instead of copying.
      const wire: Record<string, WireTensor> = {};
      const transfer = new Set<ArrayBuffer>();
      for (const [name, tensor] of Object.entries(outputs)) {
        wire[name] = toWire(tensor);
        if (!Array.isArray(tensor.data)) transfer.add(tensor.data.buffer as ArrayBuffer);
      }
      reply({ kind: 'ran', id, outputs: wire }, [...transfer]);
    } else {
      await components.get(request.component)?.release();
      components.delete(request.component);
      reply({ kind: 'released', id });
    }
  } catch (error) {
    if (isKomaError(error)) reply({ kind: 'failed', id, code: error.code, message: error.message });
    else reply({ kind: 'failed', id, code: 'render-failed', message: `inference thread: ${firstLine(error)}` });
  }
}

function live(handle: number): OnnxComponent {
  const component = components.get(handle);
  if (!component) throw new Error(`no component ${handle} in this thread (released?)`);
  return component;
}

