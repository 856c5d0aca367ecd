package engine.mongo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeSet;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which way a data file's documents are written, and the one-time rewrite of a file from before {@link BsonValueType}.
 *
 * H2 does not record a map's data type in the file: a map must be opened with the type it was written with. A small
 * map, {@value #FORMAT_MAP}, says "bson" once every document and index map is in the compact format. A file without
 * it but with maps was written by the earlier server (H2's default type, Java serialization): each such map is read
 * with that type and written again under a temporary name, which then replaces it, and the change is committed map by
 * map, with a note of the maps done. A server stopped halfway starts over from the first map not done (a
 * half-written temporary map is dropped).
 */
final class StorageFormat {

    /** No dot in the name: a database's drop removes the maps named after it and a dot. */
    static final String FORMAT_MAP = "storage-format";
    private static final String FORMAT_KEY = "documents";
    private static final String BSON = "bson";
    private static final String DONE_PREFIX = "converted:";
    private static final String TEMPORARY_MAP = "storage-format-converting";
    /** Entries copied between two commits, so a large collection does not stay in memory whole. */
    private static final int ENTRIES_PER_COMMIT = 10_000;

    private static final Logger log = LoggerFactory.getLogger(StorageFormat.class);

    private StorageFormat() {
    }

    /**
     * Brings the file to the current format, or marks a new file as written in it. Its own store: only its commits
     * may happen meanwhile.
     */
    static void upgrade(Path file) {
        MVStore store = new MVStore.Builder().fileName(file.toString()).autoCommitDisabled().autoCommitBufferSize(0).open();
        try {
            upgrade(store);
        } finally {
            store.close();
        }
    }

    static void upgrade(MVStore store) {
        MVMap<String, String> format = store.openMap(FORMAT_MAP);
        if (BSON.equals(format.get(FORMAT_KEY))) {
            return;
        }
        removeIfPresent(store, TEMPORARY_MAP);
        TreeSet<String> toConvert = new TreeSet<>();
        for (String name : store.getMapNames()) {
            if (isBsonMap(name) && !format.containsKey(DONE_PREFIX + name)) {
                toConvert.add(name);
            }
        }
        if (!toConvert.isEmpty()) {
            log.warn("rewriting {} maps of this data file in the compact format (once)", toConvert.size());
        }
        for (String name : toConvert) {
            convert(store, name);
            format.put(DONE_PREFIX + name, BSON);
            store.commit();
        }
        markCurrent(store, format);
    }

    private static void markCurrent(MVStore store, MVMap<String, String> format) {
        for (String key : new ArrayList<>(format.keySet())) {
            if (key.startsWith(DONE_PREFIX)) {
                format.remove(key);
            }
        }
        format.put(FORMAT_KEY, BSON);
        store.commit();
    }

    /** The maps {@link BsonH2Database} opens with {@link BsonValueType}: documents and index entries. */
    static boolean isBsonMap(String name) {
        return name.startsWith(BsonH2Database.DATA_PREFIX)
            || (!name.startsWith(BsonH2Database.META_PREFIX) && name.contains(BsonH2Database.INDEX_INFIX));
    }

    private static void convert(MVStore store, String name) {
        MVMap<Object, Object> old = store.openMap(name);
        MVMap<Object, Object> converted = store.openMap(TEMPORARY_MAP, BsonH2Database.bsonMap());
        long copied = 0;
        for (Map.Entry<Object, Object> entry : old.entrySet()) {
            converted.put(entry.getKey(), entry.getValue());
            if (++copied % ENTRIES_PER_COMMIT == 0) {
                store.commit();
            }
        }
        store.removeMap(old);
        store.renameMap(converted, name);
        log.warn("rewrote {} ({} entries)", name, copied);
    }

    private static void removeIfPresent(MVStore store, String name) {
        if (store.hasMap(name)) {
            store.removeMap(store.openMap(name, BsonH2Database.bsonMap()));
        }
    }
}
