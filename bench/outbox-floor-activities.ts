/** The floor workflow's one activity: it only notes when a reply reached it (outbox-floor.ts). */
export interface OutboxFloorActivities {
  deliverReply(replyId: string): Promise<void>;
}

export function createOutboxFloorActivities(delivered: Map<string, number>): OutboxFloorActivities {
  return {
    async deliverReply(replyId) {
      if (!delivered.has(replyId)) delivered.set(replyId, Date.now());
    },
  };
}
