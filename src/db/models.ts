/** All models of the engine, bound to one connection; `ensureIndexes` builds every declared index. */
import type { Connection } from 'mongoose';
import { getRoundTripProbeModel, type RoundTripProbeModel } from './models/round-trip-probe';

export interface Models {
  roundTripProbes: RoundTripProbeModel;
}

export function createModels(connection: Connection): Models {
  return { roundTripProbes: getRoundTripProbeModel(connection) };
}

export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models) as Array<Models[keyof Models]>) {
    await model.createIndexes();
  }
}
