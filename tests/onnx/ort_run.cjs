// Runs an ONNX model in ONNX Runtime (the onnxruntime-node npm package, CPU) for the ONNX tests:
//   node ort_run.cjs MODEL.onnx INPUT.bin D0,D1,... OUT_PREFIX
// INPUT.bin holds float32 values (little-endian) of the given shape, fed to the model's first
// input; each output is written as OUT_PREFIX.NAME.bin (float32) and its shape printed as JSON.
// The package is found through NODE_PATH (install-deps.sh puts it in third_party_data/).
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, dims, prefix] = process.argv.slice(2);
  const shape = dims.split(',').map(Number);
  const buf = fs.readFileSync(input);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  const results = await session.run(feeds);
  const shapes = {};
  for (const name of session.outputNames) {
    const t = results[name];
    fs.writeFileSync(`${prefix}.${name}.bin`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    shapes[name] = t.dims;
  }
  console.log(JSON.stringify(shapes));
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
