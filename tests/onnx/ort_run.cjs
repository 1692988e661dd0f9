// Runs an ONNX model in ONNX Runtime (the onnxruntime-node npm package, CPU) for the ONNX tests:
//   node ort_run.cjs MODEL.onnx OUT_PREFIX INPUT...
// Each INPUT is NAME:DTYPE:D0,D1,...:FILE, FILE holding the little-endian values (DTYPE float32
// or int64) of that shape; an empty NAME is the model's first input. Inputs not given keep
// their defaults (an initializer of the same name). Each output is written as
// OUT_PREFIX.NAME.bin (its raw values) and the output shapes printed as JSON.
// The package is found through NODE_PATH (install-deps.sh puts it in third_party_data/).
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, prefix, ...inputs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const feeds = {};
  for (const spec of inputs) {
    const [name, dtype, dims, ...file] = spec.split(':');
    const buf = fs.readFileSync(file.join(':'));
    const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = dtype === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes);
    const shape = dims.split(',').map(Number);
    feeds[name || session.inputNames[0]] = new ort.Tensor(dtype, data, shape);
  }
  const results = await session.run(feeds);
  const shapes = {};
  for (const name of session.outputNames) {
    const t = results[name];
    fs.writeFileSync(`${prefix}.${name}.bin`,
                     Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    shapes[name] = t.dims;
  }
  console.log(JSON.stringify(shapes));
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
