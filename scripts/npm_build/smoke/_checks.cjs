// What the smoke programs check, written once for both module systems: load.mjs and cluster.mjs
// import this CommonJS file, load.cjs and cluster.cjs require it. Each program imports the
// package itself, the way its kind of consumer does.

const process = require("node:process");

/**
 * Checks one loaded export: `where` (its resolved file) lies in `dir` ("/esm/" or "/script/"),
 * it has named exports, and the main one has `Cluster`. Returns the sorted export names.
 */
function exportNames(specifier, mod, where, dir, isMain) {
  if (!String(where).includes(dir)) {
    throw new Error(`${specifier} resolved to ${where}, not ${dir}`);
  }
  const names = Object.keys(mod).filter((n) => n !== "default" && n !== "__esModule").sort();
  if (!names.length) throw new Error(`${specifier} has no exports`);
  if (isMain && mod.Cluster === undefined) throw new Error(`${specifier} lacks export Cluster`);
  return names;
}

/** The export specifiers given on the command line; the first is the main export. */
function specifiersFromArgs(program) {
  const specifiers = process.argv.slice(2);
  if (!specifiers.length) throw new Error(`usage: node ${program} <specifier>...`);
  return specifiers;
}

/**
 * The primary starts one worker, waits for its message, fetches from the worker's `serve()`
 * and shuts down, then prints `SMOKE_OK <message>`; the worker serves and sends
 * `{ hello: <its id>, port }`.
 */
async function oneWorkerCluster(Cluster) {
  if (!Cluster.isPrimary) {
    const id = Cluster.worker.id;
    const { port } = await Cluster.worker.serve(
      { port: 0, hostname: "127.0.0.1" },
      () => new Response(`smoke ${id}`, { headers: { "x-smoke": "1" } }),
    );
    await Cluster.worker.send({ hello: id, port });
    return;
  }
  const cluster = new Cluster({ workers: 1 });
  const received = new Promise((resolve) => {
    cluster.on("message", (worker, message) => resolve({ worker, message }));
  });
  await cluster.start();
  const { worker, message } = await received;
  if (message?.hello === undefined) {
    throw new Error(`unexpected message ${JSON.stringify(message)}`);
  }
  if (worker.id !== message.hello) {
    throw new Error(`the message from worker ${worker.id} says ${message.hello}`);
  }
  const response = await fetch(`http://127.0.0.1:${message.port}/`);
  const body = await response.text();
  const type = response.headers.get("content-type");
  if (body !== `smoke ${worker.id}` || response.headers.get("x-smoke") !== "1" || !type) {
    throw new Error(`serve() answered ${response.status} ${type} ${JSON.stringify(body)}`);
  }
  await cluster.shutdown();
  console.log(`SMOKE_OK ${JSON.stringify(message)}`);
}

module.exports = { exportNames, oneWorkerCluster, specifiersFromArgs };
