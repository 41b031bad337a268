// node .ci/same-run.js RESUMED.json UNINTERRUPTED.json
// Exit 0 when the first result was resumed from a checkpoint at least once and equals the second
// in every field but the timings (provenance, wall time, tokens/s), the record of resumptions and
// where the run was logged (`config.log`: the requeued run writes TensorBoard events, the
// reference run does not; not part of what a run is).
const fs = require("fs");
const [resumedPath, wholePath] = process.argv.slice(2);
const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const strip = (r) => {
  const c = JSON.parse(JSON.stringify(r));
  delete c.provenance;
  delete c.resumed;
  delete c.config.log;
  delete c.summary.wall_time_s;
  delete c.summary.mean_tokens_per_s;
  c.train.forEach((p) => delete p.tokens_per_s);
  return JSON.stringify(c);
};
const resumed = read(resumedPath);
const whole = read(wholePath);
const at = (resumed.resumed || []).map((r) => r.at_update);
if (at.length === 0) {
  console.error(`${resumedPath}: never resumed (status ${resumed.status})`);
  process.exit(1);
}
if (strip(resumed) !== strip(whole)) {
  console.error(`${resumedPath}: differs from the uninterrupted ${wholePath}`);
  process.exit(1);
}
console.log(`same run: resumed at update(s) ${at.join(", ")}, equal to the uninterrupted run (${resumed.summary.steps_done} updates, final val loss ${resumed.summary.final_val_loss})`);
