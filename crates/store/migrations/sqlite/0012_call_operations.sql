-- A call's operations are kept beside its document, one row each: a change writes the operations it started or changed
-- instead of the whole document with every finished operation the call keeps (up to 20, two thirds of a document's
-- bytes; BENCHMARKS.md).
CREATE TABLE call_operation (
    -- The order the call's operations were started in.
    seq          INTEGER PRIMARY KEY,
    call_id      TEXT    NOT NULL,
    operation_id TEXT    NOT NULL,
    document     TEXT    NOT NULL,
    UNIQUE (call_id, operation_id)
) STRICT;

INSERT INTO call_operation (call_id, operation_id, document)
    SELECT call.call_id, json_extract(operation.value, '$.id'), operation.value
    FROM call, json_each(call.document, '$.operations') AS operation
    ORDER BY call.call_id, operation.key;

UPDATE call SET document = json_remove(document, '$.operations') WHERE json_type(document, '$.operations') IS NOT NULL;
