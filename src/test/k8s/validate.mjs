// Validates Kubernetes manifests (a multi-document YAML stream on stdin, as `kubectl kustomize`
// prints it) against the Kubernetes API schemas and the Prometheus Operator's, offline.
// Prints one line per document ("ok <kind>/<name>" or "invalid <kind>/<name>: <errors>") and exits
// non-zero when any document is invalid or of a kind it has no schema for.
import { parseAllDocuments } from "yaml";

const groups = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

let input = "";
for await (const chunk of process.stdin) input += chunk;

let failed = false;
for (const doc of parseAllDocuments(input)) {
  if (doc.errors.length) {
    console.log(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    failed = true;
    continue;
  }
  const manifest = doc.toJS();
  if (manifest == null) continue;
  const what = `${manifest.kind}/${manifest.metadata?.name}`;
  const module = groups[manifest.apiVersion];
  const models = module && (await import(module));
  const Model = models && models[manifest.kind];
  if (!Model) {
    console.log(`invalid ${what}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
    failed = true;
    continue;
  }
  try {
    new Model(manifest).validate();
    console.log(`ok ${what}`);
  } catch (e) {
    console.log(`invalid ${what}: ${e.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
