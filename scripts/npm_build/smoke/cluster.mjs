// Smoke test: a one-worker cluster from the installed package's ES module build.

import { Cluster } from "@x/cluster";
import { oneWorkerCluster } from "./_checks.cjs";

await oneWorkerCluster(Cluster);
