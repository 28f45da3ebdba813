"""The organisation's model library: the exports under one root, their lineage,
and their governance (approvals, labels, retirements, the audit log, TF
Serving's configuration).

- `list_models`, `format_models`: what the library holds (`listing.py`);
- `approve`, `promote`, `retire`, `library_state`, `audit_log`: decisions,
  each an event file of its own, never rewritten; `resolve_reference` for
  `ROOT/NAME@LABEL` (`governance.py`);
- `serving_config`, `write_serving_config`: `models.config` serving exactly
  the approved versions, with their labels (`serving_config.py`);
- `trust`, `trusted_roots`: the roots whose TF Hub modules and library models
  may load under Keras's safe mode (`safe_loading.py`).
"""

from tl_keras.io.library_records import audit_log
from tl_keras.io.library_records import library_state
from tl_keras.io.library_records import resolve_reference
from tl_keras.io.safe_loading import trust
from tl_keras.io.safe_loading import trusted_roots
from tl_keras.library.governance import approve
from tl_keras.library.governance import promote
from tl_keras.library.governance import retire
from tl_keras.library.listing import format_models
from tl_keras.library.listing import list_models
from tl_keras.library.serving_config import serving_config
from tl_keras.library.serving_config import write_serving_config

__all__ = ["approve", "audit_log", "format_models", "library_state", "list_models",
           "promote", "resolve_reference", "retire", "serving_config", "trust",
           "trusted_roots", "write_serving_config"]
