package engine.mongo;

import java.util.List;

import org.h2.mvstore.FileStore;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractSynchronizedMongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * mongo-java-server's H2Database with the same map names and layout, but its documents and index maps opened with
 * {@link BsonValueType} rather than H2's default (Java serialization). Each collection's small "meta." map (a
 * counter) keeps H2's default type, which writes a Long natively.
 */
final class BsonH2Database extends AbstractSynchronizedMongoDatabase<Object> {

    /** The backend finds a file's databases by these names (H2Database's, whose constants are not public). */
    static final String DATA_PREFIX = "databases.";
    static final String META_PREFIX = "meta.";
    static final String INDEX_INFIX = "._index_";

    private final MVStore store;

    BsonH2Database(String databaseName, MVStore store, CursorRegistry cursorRegistry) {
        super(databaseName, cursorRegistry);
        this.store = store;
        initializeNamespacesAndIndexes();
    }

    /** The builder every document and index map is opened with. */
    static <K, V> MVMap.Builder<K, V> bsonMap() {
        return new MVMap.Builder<K, V>().keyType(BsonValueType.INSTANCE).valueType(BsonValueType.INSTANCE);
    }

    @Override
    protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
        String fullName = getFullCollectionNamespace(collectionName);
        MVMap<Object, Document> dataMap = store.openMap(DATA_PREFIX + fullName, bsonMap());
        MVMap<String, Object> metaMap = store.openMap(META_PREFIX + fullName);
        return new H2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
        MVMap<KeyValue, Object> map = store.openMap(indexMapName(collectionName, indexName), bsonMap());
        return new BsonUniqueIndex(map, indexName, keys, sparse);
    }

    /** mongo-java-server ignores non-unique indexes; here they answer equality queries from memory. */
    @Override
    protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
        return new EqualityIndex(indexName, keys);
    }

    @Override
    protected void dropIndex(MongoCollection<Object> collection, String indexName) {
        super.dropIndex(collection, indexName);
        store.removeMap(indexMapName(collection.getCollectionName(), indexName));
    }

    private String indexMapName(String collectionName, String indexName) {
        return getFullCollectionNamespace(collectionName) + INDEX_INFIX + indexName;
    }

    @Override
    public void drop(Oplog oplog) {
        super.drop(oplog);
        for (String name : store.getMapNames()) {
            if (name.startsWith(databaseName + ".") || name.startsWith(DATA_PREFIX + databaseName + ".")
                || name.startsWith(META_PREFIX + databaseName + ".")) {
                store.removeMap(name);
            }
        }
    }

    @Override
    public void dropCollection(String collectionName, Oplog oplog) {
        super.dropCollection(collectionName, oplog);
        String fullName = getFullCollectionNamespace(collectionName);
        store.removeMap(DATA_PREFIX + fullName);
        store.removeMap(META_PREFIX + fullName);
    }

    @Override
    public void moveCollection(MongoDatabase oldDatabase, MongoCollection<?> collection, String newCollectionName) {
        super.moveCollection(oldDatabase, collection, newCollectionName);
        String oldName = collection.getFullName();
        String newName = getFullCollectionNamespace(newCollectionName);
        store.renameMap(store.openMap(DATA_PREFIX + oldName, bsonMap()), DATA_PREFIX + newName);
        store.renameMap(store.openMap(META_PREFIX + oldName), META_PREFIX + newName);
    }

    @Override
    protected long getStorageSize() {
        FileStore<?> fileStore = store.getFileStore();
        return fileStore == null ? 0 : fileStore.size();
    }

    @Override
    protected long getFileSize() {
        return getStorageSize();
    }
}
