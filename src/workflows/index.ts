/** Every workflow the worker runs; this file is the worker's `workflowsPath`. */
export { accountLifecycleWorkflow } from './account-lifecycle';
export { conversationWorkflow } from './conversation';
export { roundTripProbeWorkflow } from './diagnostics';
