// Smoke test: a one-worker cluster from the installed package's CommonJS build.

const process = require("node:process");
const { Cluster } = require("@x/cluster");
const { oneWorkerCluster } = require("./_checks.cjs");

oneWorkerCluster(Cluster).catch((error) => {
  console.error(error);
  process.exit(1);
});
