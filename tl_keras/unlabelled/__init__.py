"""Transfer without labels: a collection seen through a frozen base.

`embed` computes `Embeddings` (vectors with the items' ids); on them,
`find_duplicates`, `audit_splits`, `cluster`, `find_outliers`,
`SimilarityIndex` and `propagate_labels` answer the first questions about
a new folder: which images are the same photo twice, which validation
images leak from training, what groups it falls into, what does not
belong, what looks like this one, and how to label it from a few labels.
Results are plain arrays and small report objects with a `summary()`, ids
aligned with the input.
"""

from tl_keras.unlabelled.clusters import ClusterReport  # noqa: F401
from tl_keras.unlabelled.clusters import cluster  # noqa: F401
from tl_keras.unlabelled.duplicates import DuplicateReport  # noqa: F401
from tl_keras.unlabelled.duplicates import find_duplicates  # noqa: F401
from tl_keras.unlabelled.embed import embed  # noqa: F401
from tl_keras.unlabelled.embeddings import Embeddings  # noqa: F401
from tl_keras.unlabelled.outliers import OutlierReport  # noqa: F401
from tl_keras.unlabelled.outliers import find_outliers  # noqa: F401
from tl_keras.unlabelled.propagation import PropagationReport  # noqa: F401
from tl_keras.unlabelled.propagation import propagate_labels  # noqa: F401
from tl_keras.unlabelled.similarity import SimilarityIndex  # noqa: F401
from tl_keras.unlabelled.similarity_export import export_similarity  # noqa: F401
from tl_keras.unlabelled.split_audit import SplitAudit  # noqa: F401
from tl_keras.unlabelled.split_audit import audit_splits  # noqa: F401
