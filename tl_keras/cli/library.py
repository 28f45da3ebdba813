"""`tl-keras library ...`: the library's governance on the command line."""

import json
import os

from tl_keras import library
from tl_keras.io import layout


def library_command(args):
    """Runs one `tl-keras library` action; returns the exit status."""

    root = args.root
    action = args.library_command
    if action == "list":
        print(library.format_models(library.list_models(root)))
    elif action == "show":
        card = layout.read_model_card(os.path.join(root, args.name, str(args.version)))
        if not card:
            raise ValueError(f"No model card for {args.name}/{args.version} under {root}. "
                             f"Received: {args.name} {args.version}")
        state = library.library_state(root).get(args.name, {})
        card["governance"] = {
            "approvals": state.get("approvals", {}).get(args.version, []),
            "labels": sorted(k for k, v in state.get("labels", {}).items()
                             if v == args.version),
            "retired": args.version in state.get("retired", [])}
        print(json.dumps(card, indent=2))
    elif action == "approve":
        library.approve(root, args.name, args.version, by=args.by, why=args.why)
        print(f"Approved {args.name} version {args.version} (by {args.by}).")
    elif action == "promote":
        library.promote(root, args.name, args.version, label=args.label)
        print(f"{args.name}@{args.label} is now version {args.version}.")
    elif action == "retire":
        library.retire(root, args.name, args.version)
        print(f"Retired {args.name} version {args.version}.")
    elif action == "serving-config":
        path, left_out = library.write_serving_config(root, base_path=args.base_path)
        print(f"Wrote {path} (and batching_parameters.txt beside it).")
        for name, why in left_out.items():
            print(f"Left out {name}: {why} (tl-keras library approve {name} VERSION ...).")
        print(f"Serve it: tensorflow_model_server --model_config_file={path} "
              "--allow_version_labels_for_unavailable_models --rest_api_port=8501")
    elif action == "log":
        for event in library.audit_log(root):
            print(json.dumps(event))
    return 0
