/** Every workflow the worker runs; this file is the worker's `workflowsPath`. */
export { conversationWorkflow } from './conversation';
export { roundTripProbeWorkflow } from './diagnostics';
