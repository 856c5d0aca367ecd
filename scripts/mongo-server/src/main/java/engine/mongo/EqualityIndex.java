package engine.mongo;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.EmptyIndex;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * A non-unique index, in memory: the documents' positions (their _ids) by the value of the index's first field. It
 * answers a query with an equality on that field (`{conversationId: X}`, whatever else the query asks: the backend
 * still checks every candidate against the whole query), where mongo-java-server would read the whole collection.
 *
 * It is not in the file: the backend fills it from the collection when it opens the collection, and every insert,
 * update and delete keeps it current, under the collection's lock. Only plain values are looked up (strings, numbers,
 * booleans, ObjectIds, dates); any other query reads the collection as before. Candidates come in _id order, the
 * order a read of the collection gives.
 */
final class EqualityIndex extends Index<Object> {

    private final String field;
    /** The first field alone, for its values: the other fields of a compound index play no part here. */
    private final Index<Object> firstField;
    private final Map<Object, Set<Object>> positionsByValue = new HashMap<>();
    private long entries;

    EqualityIndex(String name, List<IndexKey> keys) {
        // Sparse, as the backend's placeholder for such indexes: no position is asked of it when a document goes.
        super(name, keys, true);
        this.field = keys.get(0).getKey();
        this.firstField = new EmptyIndex<>(name, List.of(keys.get(0)));
    }

    @Override
    public synchronized boolean canHandle(Document query) {
        return !field.contains(".") && isPlainValue(query.get(field));
    }

    private static boolean isPlainValue(Object value) {
        return value instanceof String || value instanceof Integer || value instanceof Long || value instanceof Double
            || value instanceof Boolean || value instanceof ObjectId || value instanceof Instant;
    }

    @Override
    public synchronized Iterable<Object> getPositions(Document query) {
        Object value = new KeyValue(query.get(field)).normalized().get(0);
        Set<Object> positions = positionsByValue.get(value);
        return positions == null ? List.of() : new ArrayList<>(positions);
    }

    @Override
    public synchronized void add(Document document, Object position, MongoCollection<Object> collection) {
        for (Object value : valuesOf(document)) {
            if (positionsByValue.computeIfAbsent(value, v -> new TreeSet<>(BsonValueType.INSTANCE::compare)).add(Missing.ofNullable(position))) {
                entries++;
            }
        }
    }

    @Override
    public synchronized Object remove(Document document) {
        // The position of a document in H2's collections is its _id.
        Object position = Missing.ofNullable(document.get("_id"));
        for (Object value : valuesOf(document)) {
            Set<Object> positions = positionsByValue.get(value);
            if (positions != null && positions.remove(position)) {
                entries--;
                if (positions.isEmpty()) {
                    positionsByValue.remove(value);
                }
            }
        }
        return null;
    }

    @Override
    public synchronized void updateInPlace(Document oldDocument, Document newDocument, Object position, MongoCollection<Object> collection) {
        if (!valuesOf(oldDocument).equals(valuesOf(newDocument))) {
            remove(oldDocument);
            add(newDocument, position, collection);
        }
    }

    /** The first field's values in a document (one per array element), as the backend's indexes normalize them. */
    private Set<Object> valuesOf(Document document) {
        Set<Object> values = new HashSet<>();
        for (KeyValue keyValue : firstField.getKeyValues(document)) {
            values.add(keyValue.get(0));
        }
        return values;
    }

    @Override
    public Object getPosition(Document document) {
        return null;
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Object> collection) {
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
    }

    @Override
    public synchronized long getCount() {
        return entries;
    }

    @Override
    public long getDataSize() {
        return 0;
    }

    @Override
    public synchronized void drop() {
        positionsByValue.clear();
        entries = 0;
    }
}
