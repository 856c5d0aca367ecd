package engine.mongo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonJavaScript;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Decimal128;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.LegacyUUID;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * How the store writes documents, _id values and index keys: a tag byte per value, then the value in a few bytes
 * (variable-length integers, strings as H2 writes them, documents and lists as a count and their elements).
 *
 * H2's default type writes each of these with Java serialization, class descriptions included, and compares two
 * index keys (KeyValue is not Comparable) by serializing both: that was most of the database's CPU. Every class the
 * backend keeps in a document comes back as the same class with the same value (dates keep their nanoseconds);
 * anything else still goes through Java serialization, so no value can fail to be written.
 *
 * Keys are ordered by tag, then by value; two keys compare equal exactly when they are written the same way, as with
 * the serialized bytes before. Lookups only ever need that equality.
 */
final class BsonValueType extends BasicDataType<Object> {

    static final BsonValueType INSTANCE = new BsonValueType();

    private static final byte NULL = 0;
    private static final byte MISSING = 1;
    private static final byte FALSE = 2;
    private static final byte TRUE = 3;
    private static final byte INT32 = 4;
    private static final byte INT64 = 5;
    private static final byte DOUBLE = 6;
    private static final byte DECIMAL128 = 7;
    private static final byte STRING = 8;
    private static final byte DATE = 9;
    private static final byte OBJECT_ID = 10;
    private static final byte BINARY = 11;
    private static final byte UUID_VALUE = 12;
    private static final byte LEGACY_UUID = 13;
    private static final byte TIMESTAMP = 14;
    private static final byte REGEX = 15;
    private static final byte JAVASCRIPT = 16;
    private static final byte MIN_KEY = 17;
    private static final byte MAX_KEY = 18;
    private static final byte DOCUMENT = 19;
    private static final byte LIST = 20;
    private static final byte KEY_VALUE = 21;
    private static final byte SERIALIZED = 22;

    private static final Comparator<String> OPTIONS_ORDER = Comparator.nullsFirst(Comparator.naturalOrder());

    private BsonValueType() {
    }

    @Override
    public Object[] createStorage(int size) {
        return new Object[size];
    }

    // --- writing -------------------------------------------------------------------------------------------------

    @Override
    public void write(WriteBuffer buffer, Object value) {
        byte tag = tagOf(value);
        buffer.put(tag);
        switch (tag) {
            case NULL, MISSING, FALSE, TRUE, MIN_KEY, MAX_KEY -> {
            }
            case INT32 -> buffer.putVarInt(zigZag((Integer) value));
            case INT64 -> buffer.putVarLong(zigZag((Long) value));
            case DOUBLE -> buffer.putLong(Double.doubleToRawLongBits((Double) value));
            case DECIMAL128 -> buffer.putLong(((Decimal128) value).getLow()).putLong(((Decimal128) value).getHigh());
            case STRING -> writeString(buffer, (String) value);
            case DATE -> buffer.putVarLong(zigZag(((Instant) value).getEpochSecond())).putVarInt(((Instant) value).getNano());
            case OBJECT_ID -> buffer.put(((ObjectId) value).toByteArray());
            case BINARY -> writeBytes(buffer, ((BinData) value).getData());
            case UUID_VALUE -> writeUuid(buffer, (UUID) value);
            case LEGACY_UUID -> writeUuid(buffer, ((LegacyUUID) value).getUuid());
            case TIMESTAMP -> buffer.putLong(((BsonTimestamp) value).getValue());
            case REGEX -> writeRegex(buffer, (BsonRegularExpression) value);
            case JAVASCRIPT -> writeString(buffer, ((BsonJavaScript) value).getCode());
            case DOCUMENT -> writeDocument(buffer, (Document) value);
            case LIST -> writeElements(buffer, ((List<?>) value).size(), (List<?>) value);
            case KEY_VALUE -> writeElements(buffer, ((KeyValue) value).size(), (KeyValue) value);
            default -> writeBytes(buffer, serialize(value));
        }
    }

    private void writeDocument(WriteBuffer buffer, Document document) {
        buffer.putVarInt(document.size());
        for (Map.Entry<String, Object> entry : document.entrySet()) {
            writeString(buffer, entry.getKey());
            write(buffer, entry.getValue());
        }
    }

    private void writeElements(WriteBuffer buffer, int size, Iterable<?> elements) {
        buffer.putVarInt(size);
        for (Object element : elements) {
            write(buffer, element);
        }
    }

    private static void writeRegex(WriteBuffer buffer, BsonRegularExpression regex) {
        writeString(buffer, regex.getPattern());
        buffer.put(regex.getOptions() == null ? (byte) 0 : (byte) 1);
        if (regex.getOptions() != null) {
            writeString(buffer, regex.getOptions());
        }
    }

    private static void writeString(WriteBuffer buffer, String value) {
        buffer.putVarInt(value.length()).putStringData(value, value.length());
    }

    private static void writeBytes(WriteBuffer buffer, byte[] bytes) {
        buffer.putVarInt(bytes.length).put(bytes);
    }

    private static void writeUuid(WriteBuffer buffer, UUID uuid) {
        buffer.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
    }

    // --- reading -------------------------------------------------------------------------------------------------

    @Override
    public Object read(ByteBuffer buffer) {
        byte tag = buffer.get();
        return switch (tag) {
            case NULL -> null;
            case MISSING -> Missing.getInstance();
            case FALSE -> Boolean.FALSE;
            case TRUE -> Boolean.TRUE;
            case INT32 -> unZigZag(DataUtils.readVarInt(buffer));
            case INT64 -> unZigZag(DataUtils.readVarLong(buffer));
            case DOUBLE -> Double.longBitsToDouble(buffer.getLong());
            case DECIMAL128 -> new Decimal128(buffer.getLong(), buffer.getLong());
            case STRING -> readString(buffer);
            case DATE -> Instant.ofEpochSecond(unZigZag(DataUtils.readVarLong(buffer)), DataUtils.readVarInt(buffer));
            case OBJECT_ID -> new ObjectId(readFixed(buffer, 12));
            case BINARY -> new BinData(readBytes(buffer));
            case UUID_VALUE -> new UUID(buffer.getLong(), buffer.getLong());
            case LEGACY_UUID -> new LegacyUUID(buffer.getLong(), buffer.getLong());
            case TIMESTAMP -> new BsonTimestamp(buffer.getLong());
            case REGEX -> readRegex(buffer);
            case JAVASCRIPT -> new BsonJavaScript(readString(buffer));
            case MIN_KEY -> MinKey.getInstance();
            case MAX_KEY -> MaxKey.getInstance();
            case DOCUMENT -> readDocument(buffer);
            case LIST -> readElements(buffer);
            case KEY_VALUE -> new KeyValue(readElements(buffer));
            case SERIALIZED -> deserialize(readBytes(buffer));
            default -> throw new IllegalStateException("unknown value tag " + tag + " in the data file");
        };
    }

    private Document readDocument(ByteBuffer buffer) {
        int size = DataUtils.readVarInt(buffer);
        Document document = new Document();
        for (int i = 0; i < size; i++) {
            String key = readString(buffer);
            document.put(key, read(buffer));
        }
        return document;
    }

    private List<Object> readElements(ByteBuffer buffer) {
        int size = DataUtils.readVarInt(buffer);
        List<Object> elements = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            elements.add(read(buffer));
        }
        return elements;
    }

    private static BsonRegularExpression readRegex(ByteBuffer buffer) {
        String pattern = readString(buffer);
        String options = buffer.get() == 0 ? null : readString(buffer);
        return new BsonRegularExpression(pattern, options);
    }

    private static String readString(ByteBuffer buffer) {
        return DataUtils.readString(buffer, DataUtils.readVarInt(buffer));
    }

    private static byte[] readBytes(ByteBuffer buffer) {
        return readFixed(buffer, DataUtils.readVarInt(buffer));
    }

    private static byte[] readFixed(ByteBuffer buffer, int length) {
        byte[] bytes = new byte[length];
        buffer.get(bytes);
        return bytes;
    }

    // --- ordering ------------------------------------------------------------------------------------------------

    @Override
    public int compare(Object a, Object b) {
        if (a == b) {
            return 0;
        }
        byte tag = tagOf(a);
        int byTag = Byte.compare(tag, tagOf(b));
        if (byTag != 0) {
            return byTag;
        }
        return switch (tag) {
            case NULL, MISSING, FALSE, TRUE, MIN_KEY, MAX_KEY -> 0;
            case INT32, INT64, TIMESTAMP, OBJECT_ID, UUID_VALUE, LEGACY_UUID, BINARY, STRING, DATE -> compareComparable(a, b);
            case DOUBLE -> Double.compare((Double) a, (Double) b);
            case DECIMAL128 -> compareDecimals((Decimal128) a, (Decimal128) b);
            case REGEX -> compareRegex((BsonRegularExpression) a, (BsonRegularExpression) b);
            case JAVASCRIPT -> ((BsonJavaScript) a).getCode().compareTo(((BsonJavaScript) b).getCode());
            case DOCUMENT -> compareDocuments((Document) a, (Document) b);
            case LIST -> compareElements((List<?>) a, (List<?>) b);
            case KEY_VALUE -> compareElements((KeyValue) a, (KeyValue) b);
            default -> Arrays.compareUnsigned(serialize(a), serialize(b));
        };
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compareComparable(Object a, Object b) {
        return ((Comparable) a).compareTo(b);
    }

    /** By their bits, like equals (compareTo would find 1.0 and 1.00 equal). */
    private static int compareDecimals(Decimal128 a, Decimal128 b) {
        int byHigh = Long.compare(a.getHigh(), b.getHigh());
        return byHigh != 0 ? byHigh : Long.compare(a.getLow(), b.getLow());
    }

    private static int compareRegex(BsonRegularExpression a, BsonRegularExpression b) {
        int byPattern = a.getPattern().compareTo(b.getPattern());
        return byPattern != 0 ? byPattern : OPTIONS_ORDER.compare(a.getOptions(), b.getOptions());
    }

    private int compareDocuments(Document a, Document b) {
        Iterator<Map.Entry<String, Object>> left = a.entrySet().iterator();
        Iterator<Map.Entry<String, Object>> right = b.entrySet().iterator();
        while (left.hasNext() && right.hasNext()) {
            Map.Entry<String, Object> x = left.next();
            Map.Entry<String, Object> y = right.next();
            int byKey = x.getKey().compareTo(y.getKey());
            if (byKey != 0) {
                return byKey;
            }
            int byValue = compare(x.getValue(), y.getValue());
            if (byValue != 0) {
                return byValue;
            }
        }
        return Boolean.compare(left.hasNext(), right.hasNext());
    }

    private int compareElements(Iterable<?> a, Iterable<?> b) {
        Iterator<?> left = a.iterator();
        Iterator<?> right = b.iterator();
        while (left.hasNext() && right.hasNext()) {
            int byElement = compare(left.next(), right.next());
            if (byElement != 0) {
                return byElement;
            }
        }
        return Boolean.compare(left.hasNext(), right.hasNext());
    }

    // --- memory estimate (the store's cache and page splits go by it) --------------------------------------------

    @Override
    public int getMemory(Object value) {
        if (value instanceof String string) {
            return 40 + 2 * string.length();
        } else if (value instanceof Document document) {
            int memory = 64;
            for (Map.Entry<String, Object> entry : document.entrySet()) {
                memory += 48 + 2 * entry.getKey().length() + getMemory(entry.getValue());
            }
            return memory;
        } else if (value instanceof Iterable<?> elements && (value instanceof List || value instanceof KeyValue)) {
            int memory = 48;
            for (Object element : elements) {
                memory += 8 + getMemory(element);
            }
            return memory;
        } else if (value instanceof BinData binary) {
            return 32 + binary.getData().length;
        }
        return 24;
    }

    // --- tags ----------------------------------------------------------------------------------------------------

    /** Any list comes back as an ArrayList (as from the wire); other unknown classes keep theirs through serialization. */
    private static byte tagOf(Object value) {
        if (value == null) {
            return NULL;
        }
        Class<?> type = value.getClass();
        if (type == String.class) {
            return STRING;
        } else if (type == Document.class) {
            return DOCUMENT;
        } else if (type == Integer.class) {
            return INT32;
        } else if (type == Long.class) {
            return INT64;
        } else if (type == Double.class) {
            return DOUBLE;
        } else if (type == Boolean.class) {
            return (Boolean) value ? TRUE : FALSE;
        } else if (type == Instant.class) {
            return DATE;
        } else if (type == ObjectId.class) {
            return OBJECT_ID;
        } else if (type == ArrayList.class) {
            return LIST;
        } else if (type == KeyValue.class) {
            return KEY_VALUE;
        }
        return rareTagOf(value);
    }

    private static byte rareTagOf(Object value) {
        if (value instanceof Missing) {
            return MISSING;
        } else if (value instanceof Decimal128) {
            return DECIMAL128;
        } else if (value instanceof List) {
            return LIST;
        } else if (value instanceof BinData) {
            return BINARY;
        } else if (value.getClass() == UUID.class) {
            return UUID_VALUE;
        } else if (value instanceof LegacyUUID) {
            return LEGACY_UUID;
        } else if (value instanceof BsonTimestamp) {
            return TIMESTAMP;
        } else if (value.getClass() == BsonRegularExpression.class) {
            return REGEX;
        } else if (value instanceof BsonJavaScript) {
            return JAVASCRIPT;
        } else if (value instanceof MinKey) {
            return MIN_KEY;
        } else if (value instanceof MaxKey) {
            return MAX_KEY;
        }
        return SERIALIZED;
    }

    private static int zigZag(int value) {
        return (value << 1) ^ (value >> 31);
    }

    private static long zigZag(long value) {
        return (value << 1) ^ (value >> 63);
    }

    private static int unZigZag(int value) {
        return (value >>> 1) ^ -(value & 1);
    }

    private static long unZigZag(long value) {
        return (value >>> 1) ^ -(value & 1);
    }

    // --- the fallback --------------------------------------------------------------------------------------------

    private static byte[] serialize(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a " + value.getClass().getName() + " to the data file", e);
        }
        return bytes.toByteArray();
    }

    private static Object deserialize(byte[] bytes) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("cannot read a serialized value from the data file", e);
        }
    }
}
