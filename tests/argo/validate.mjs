// Validate Argo Rollouts resources (a JSON list on stdin) against the schema of their types, as
// @kubernetes-models/argo-rollouts generates it from github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1
// (the Go types Argo's CRD schema is generated from). Prints a JSON list: null for a valid resource,
// else the validator's message.
import { AnalysisTemplate, ClusterAnalysisTemplate, Rollout } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";

const kinds = { AnalysisTemplate, ClusterAnalysisTemplate, Rollout };
let text = "";
for await (const chunk of process.stdin) text += chunk;
const verdicts = JSON.parse(text).map((resource) => {
  const Kind = kinds[resource.kind];
  if (!Kind) return `unknown kind ${resource.kind}`;
  try {
    new Kind(resource).validate();
    return null;
  } catch (error) {
    return String(error.message ?? error);
  }
});
console.log(JSON.stringify(verdicts));
