import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS without named exports that plain Node ESM can see;
// the default import works under vitest and under tsx (the benchmarks use this builder too).
const { onnx } = onnxProto;

/**
 * A small typed way to write ONNX graphs in tests, so the real loading and
 * running code is exercised on models whose exact output is known.
 * opset 17, IR version 8: what onnxruntime-node 1.30 runs.
 */
export type Dim = number | string;
export type ElemType = 'float32' | 'int64';

const ELEM: Record<ElemType, number> = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 };

function valueInfo(name: string, type: ElemType, shape: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  constant(values: ArrayLike<number>, dims: number[], type: ElemType = 'float32'): string {
    const name = `const_${this.counter++}`;
    this.initializers.push(
      type === 'float32'
        ? // Raw little-endian bytes: compact and fast for the large random weights of the benchmarks.
          { name, dataType: ELEM.float32, dims, rawData: new Uint8Array(Float32Array.from(values).buffer) }
        : { name, dataType: ELEM.int64, dims, int64Data: Array.from(values) },
    );
    return name;
  }

  /** Adds a node; returns its (single) output name, or `output` when given. */
  node(opType: string, inputs: string[], attributes: onnxProto.onnx.IAttributeProto[] = [], output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [out], attribute: attributes, name: out });
    return out;
  }

  toBytes(): Uint8Array {
    const model: onnxProto.onnx.IModelProto = {
      irVersion: 8,
      producerName: 'koma-tests',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.initializers },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

export const intAttr = (name: string, i: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
export const intsAttr = (name: string, ints: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
export const stringAttr = (name: string, s: string): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) });
/** Element types for Cast's `to` attribute. */
export const CAST_TO = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;
