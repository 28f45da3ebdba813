"""The ground layer: where files are and who may load them.

- `layout`: the export layout (`saved_models/NAME/<version>/`), every path
  through `tf.io.gfile`;
- `library_records`: the model library's event records, read;
- `safe_loading`: which SavedModel graphs may load under Keras's safe mode,
  decided by the loading process alone;
- `cluster`: where this process stands in a cluster, and who writes.

Everything above imports these; they import nothing of tl_keras's but each other.
"""
