/**
 * roundTripProbes: written by the diagnostics workflow's activity, read back by the API.
 * An operator's end-to-end check that API → Temporal → worker → MongoDB → API works.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface RoundTripProbe {
  /** = probeId: the API reads a probe back by `_id`, the fast lookup on the local database. */
  _id: string;
  probeId: string;
  workflowId: string;
  runId: string;
  attempts: number;
  requestedAt: Date;
  recordedAt: Date;
}

const roundTripProbeSchema = new Schema<RoundTripProbe>(
  {
    _id: { type: String, required: true },
    probeId: { type: String, required: true },
    workflowId: { type: String, required: true },
    runId: { type: String, required: true },
    attempts: { type: Number, required: true, default: 1 },
    requestedAt: { type: Date, required: true },
    recordedAt: { type: Date, required: true },
  },
  { collection: 'roundTripProbes', versionKey: false },
);

export type RoundTripProbeModel = Model<RoundTripProbe>;

export function getRoundTripProbeModel(connection: Connection): RoundTripProbeModel {
  return (connection.models.RoundTripProbe as RoundTripProbeModel | undefined) ?? connection.model<RoundTripProbe>('RoundTripProbe', roundTripProbeSchema);
}
