package engine.mongo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

/**
 * The local stack's database: MongoDB's wire protocol (mongo-java-server) on one H2 MVStore file.
 *
 * Stock mongo-java-server/H2 answers a write once it is in memory and lets the store commit in the background about
 * once a second, so a killed process loses what it acknowledged in its last second. Here a command that may write is
 * answered only after a commit that covers it has reached the file (group commit: one commit serves every write that
 * finished before it started). The file is written, not fsync-ed: what was acknowledged survives the death of this
 * process (SIGKILL included), like MongoDB's default write concern; with --fsync it also survives the machine's.
 *
 * A commit also never falls in the middle of a command. mongo-java-server applies a command as several map writes
 * (an insert puts the document, then its index entries; an update changes the document object in place), and a
 * commit taken meanwhile (another command's group commit, or the store's own background and in-thread commits) put
 * half a command in the file. After a kill, a webhook event was then in its collection but not in its _id index: no
 * lookup by _id found it, and every redelivery's insert failed on it with an error that is not a duplicate key, so
 * the delivery was refused for good. Commands now share a lock that a commit takes exclusively, and the store commits
 * nothing by itself (without its background writer it also serializes the pages inside the commit, not beside
 * the commands).
 *
 * The storage format is our own (BsonValueType): documents, _ids and index keys are written as a tag byte and a
 * compact value each, not with Java serialization, H2's default for these maps. A commit rewrites every page a write
 * touched, each with all its entries, so the encoding is paid many times per write: with Java serialization (class
 * descriptions with every value, and index keys serialized again for each comparison) it was most of the CPU the
 * database used. A file from before is rewritten in this format once, when the server starts (StorageFormat).
 * Non-unique indexes, which mongo-java-server ignores, are kept in memory (EqualityIndex) and answer equality
 * queries on their first field, so a read like {conversationId: X} no longer reads the whole collection.
 *
 * Usage: DurableMongoServer --file PATH [--host 127.0.0.1] [--port 27017] [--fsync]
 * (--ack-before-commit restores the stock behaviour, for bench/databases.ts to show what the wait costs and saves.)
 */
public final class DurableMongoServer {

    private static final Logger log = LoggerFactory.getLogger(DurableMongoServer.class);

    private DurableMongoServer() {
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Path parent = options.file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        StorageFormat.upgrade(options.file);
        MVStore.Builder builder = new MVStore.Builder().fileName(options.file.toString());
        if (!options.ackBeforeCommit) {
            // No commits but the group commit's: no background writer, none from a writing thread.
            builder.autoCommitDisabled().autoCommitBufferSize(0);
        }
        MVStore store = builder.open();
        DurableBackend backend = new DurableBackend(store, options.ackBeforeCommit ? null : new GroupCommit(store, options.fsync));
        backend.version(ServerVersion.MONGO_5_0);
        MongoServer server = new MongoServer(backend);
        server.bind(options.host, options.port);
        log.warn("listening on {}:{} with data in {}{}", options.host, options.port, options.file,
            options.ackBeforeCommit ? " (acknowledging before commit: may lose the last second)" : options.fsync ? " (fsync per commit)" : "");
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "shutdown"));
    }

    /** H2's backend, answering a command that may write only once its effect is in the file. */
    static final class DurableBackend extends H2Backend {

        /** Commands that never change data: answered without waiting for a commit. Anything else waits, to be safe. */
        private static final Set<String> READ_ONLY_COMMANDS = Set.of(
            "find", "getmore", "count", "distinct", "aggregate", "listcollections", "listindexes", "listdatabases",
            "ping", "hello", "ismaster", "buildinfo", "serverstatus", "whatsmyuri", "killcursors", "endsessions",
            "getlasterror", "getparameter", "hostinfo", "connectionstatus", "dbstats", "collstats", "getlog",
            "getcmdlineopts", "getfreemonitoringstatus", "saslstart", "saslcontinue", "explain");

        /** Null: acknowledge before the commit (the stock behaviour). */
        private final GroupCommit groupCommit;

        DurableBackend(MVStore store, GroupCommit groupCommit) {
            super(store);
            this.groupCommit = groupCommit;
        }

        /** Called from H2Backend's constructor too, for the databases already in the file. */
        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new BsonH2Database(databaseName, getMvStore(), getCursorRegistry());
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            if (groupCommit == null) {
                return super.handleCommand(channel, databaseName, command, query);
            }
            Document response;
            // Shared among commands, exclusive to a commit: a commit sees each command's writes whole or not at all.
            // Released before waiting for the commit, which takes it exclusively.
            groupCommit.commandLock().lock();
            try {
                response = super.handleCommand(channel, databaseName, command, query);
            } finally {
                groupCommit.commandLock().unlock();
            }
            if (!READ_ONLY_COMMANDS.contains(command.toLowerCase())) {
                groupCommit.awaitCommitCoveringWritesSoFar();
            }
            return response;
        }
    }

    /**
     * Commits for many waiting writers at once. A writer takes a ticket after its write; a commit started after the
     * ticket was taken covers the write, so the writer returns once such a commit has finished. One commit runs at a
     * time; writers arriving meanwhile are served together by the next one.
     */
    static final class GroupCommit {
        private final MVStore store;
        private final boolean fsync;
        private final ReadWriteLock commandsAndCommit = new ReentrantReadWriteLock();
        private final Object lock = new Object();
        private long ticketsIssued;
        private long ticketsCommitted;
        private boolean committing;

        GroupCommit(MVStore store, boolean fsync) {
            this.store = store;
            this.fsync = fsync;
        }

        /** Held by a command while it runs (shared); a commit takes the store only between commands. */
        Lock commandLock() {
            return commandsAndCommit.readLock();
        }

        void awaitCommitCoveringWritesSoFar() {
            long ticket;
            synchronized (lock) {
                ticket = ++ticketsIssued;
            }
            while (true) {
                long coveredUpTo;
                synchronized (lock) {
                    while (committing && ticketsCommitted < ticket) {
                        waitUninterruptibly();
                    }
                    if (ticketsCommitted >= ticket) {
                        return;
                    }
                    committing = true;
                    coveredUpTo = ticketsIssued;
                }
                boolean written = false;
                try {
                    writeToFile();
                    written = true;
                } finally {
                    synchronized (lock) {
                        committing = false;
                        if (written) {
                            ticketsCommitted = Math.max(ticketsCommitted, coveredUpTo);
                        }
                        lock.notifyAll();
                    }
                }
            }
        }

        private void writeToFile() {
            commandsAndCommit.writeLock().lock();
            try {
                store.commit();
            } finally {
                commandsAndCommit.writeLock().unlock();
            }
            // Whatever the store may still have on its way to the file (nothing, without its background writer) is
            // waited for before the writers are answered.
            store.getFileStore().executeFileStoreOperation(() -> {
            });
            if (fsync) {
                store.sync();
            }
        }

        private void waitUninterruptibly() {
            try {
                lock.wait();
            } catch (InterruptedException e) {
                // A server thread is never asked to stop this way; keep waiting for the commit.
            }
        }
    }

    private record Options(Path file, String host, int port, boolean fsync, boolean ackBeforeCommit) {
        static Options parse(String[] args) {
            Path file = null;
            String host = "127.0.0.1";
            int port = 27017;
            boolean fsync = false;
            boolean ackBeforeCommit = false;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--file" -> file = Path.of(valueAfter(args, i++));
                    case "--host" -> host = valueAfter(args, i++);
                    case "--port" -> port = Integer.parseInt(valueAfter(args, i++));
                    case "--fsync" -> fsync = true;
                    case "--ack-before-commit" -> ackBeforeCommit = true;
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (usage: --file PATH [--host HOST] [--port PORT] [--fsync] [--ack-before-commit])");
                }
            }
            if (file == null) {
                throw new IllegalArgumentException("--file PATH is required: the data lives in that file");
            }
            return new Options(file, host, port, fsync, ackBeforeCommit);
        }

        private static String valueAfter(String[] args, int index) {
            if (index + 1 >= args.length) {
                throw new IllegalArgumentException(args[index] + " needs a value");
            }
            return args[index + 1];
        }
    }
}
