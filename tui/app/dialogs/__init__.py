"""gitward's dialogs: small typed ``ModalScreen`` classes; callers get a result, not a side effect.

Every dialog fits 80x24 (``DialogScreen``: buttons docked, body scrolls) and focuses Cancel.
The sync dialogs (``sync_confirm``) and the ``:`` prompt (``command_prompt``) belong to the
App's sync and command code and are imported from their modules.
"""

from tui.app.dialogs.confirm import Choice, ConfirmDialog, DialogScreen
from tui.app.dialogs.prompts import PathDialog, ReasonDialog, TextPrompt, TypeNameDialog
from tui.app.dialogs.ref_detail import RefDetail
from tui.app.dialogs.shadow_preview import ShadowChoice, ShadowPreview

__all__ = [
    "Choice",
    "ConfirmDialog",
    "DialogScreen",
    "PathDialog",
    "ReasonDialog",
    "RefDetail",
    "ShadowChoice",
    "ShadowPreview",
    "TextPrompt",
    "TypeNameDialog",
]
