"""What the project's classes say about Celery apps.

A project may subclass `Celery` (`class MyCelery(Celery)`), override how it names tasks
(`gen_task_name`), or have a class of its own with a `send_task` method that is no Celery app at
all (`TaskClient.send_task(self, name, args=(), countdown=None)`): adding `queue=` to a call of
that method raises TypeError at run time. `AppClasses` answers, from every module's facts, which
classes are Celery apps, which override a method, and what a `.send_task` receiver is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from codemods.model import AppFacts, ClassFacts, ModuleFacts, Receiver, Signature

CELERY_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
# Names that are the current Celery app whatever the project does.
CURRENT_APPS = frozenset(
    {"celery.current_app", "celery.app.current_app", "celery._state.current_app"}
)


@dataclass(frozen=True)
class Method:
    cls: ClassFacts
    signature: Signature


class AppClasses:
    """The project's classes and module-level objects, looked up by canonical dotted name."""

    def __init__(self, facts: Iterable[ModuleFacts], canonical: Callable[[str], str]) -> None:
        self.canonical = canonical
        self.classes: dict[str, ClassFacts] = {}
        self.instances: dict[str, str] = {}  # object -> what made it
        self.apps: dict[str, str | None] = {}  # app -> what made it
        for module_facts in facts:
            for cls in module_facts.classes:
                self.classes[cls.qualname] = cls
            self.instances.update(module_facts.instances)
            for app in module_facts.apps:
                if app.defined:
                    self.apps[canonical(app.qualname)] = app.factory
        factories = {  # by canonical name: (the factory, the path of its module)
            canonical(factory.qualname): (factory, module_facts.path)
            for module_facts in facts
            for factory in module_facts.app_factories
        }
        # Apps an app factory made (`app = create_application()`): (the factory, its path).
        self.factory_made: dict[str, tuple[AppFacts, str]] = {}
        # Objects made by a project subclass of Celery are apps too (`app = Application()`), and
        # so are those an app factory makes.
        for name, made_by in self.instances.items():
            made = factories.get(canonical(made_by))
            if made is not None:
                self.factory_made[canonical(name)] = made
                self.apps.setdefault(canonical(name), made[0].factory)
            elif self.is_celery(made_by):
                self.apps.setdefault(canonical(name), made_by)
        self.fixed_send_task = sorted(
            (cls for cls in self.classes.values() if _fixed(_own(cls, "send_task"))),
            key=lambda cls: cls.qualname,
        )

    def chain(self, name: str | None) -> tuple[list[ClassFacts], bool]:
        """The project classes `name` is or inherits from, nearest first, and whether it
        inherits from Celery."""
        order: list[ClassFacts] = []
        celery = False
        stack = [name] if name else []
        seen: set[str] = set()
        while stack:
            current = self.canonical(stack.pop(0))
            if current in seen:
                continue
            seen.add(current)
            if current in CELERY_CLASSES:
                celery = True
                continue
            cls = self.classes.get(current)
            if cls is not None:
                order.append(cls)
                stack[:0] = list(cls.bases)
        return order, celery

    def is_celery(self, name: str) -> bool:
        return self.chain(name)[1]

    def method(self, name: str | None, method: str) -> Method | None:
        """The nearest definition of `method` in the project classes of `name`."""
        for cls in self.chain(name)[0]:
            signature = _own(cls, method)
            if signature is not None:
                return Method(cls, signature)
        return None

    def custom_names(self, app: str, settings: Iterable[str]) -> str | None:
        """Where `app` makes task names itself (`app.gen_task_name = ...` among its `settings`,
        or a `gen_task_name` method of its class), or None."""
        if "gen_task_name" in settings:
            return f"{app}.gen_task_name"
        found = self.method(self.apps.get(app), "gen_task_name")
        return None if found is None else f"{found.cls.qualname}.gen_task_name"

    def not_celery(self, receiver: Receiver | None) -> str | None:
        """Why a `.send_task` call on `receiver` must be left alone, or None when it is a
        Celery app's (or nothing in the tree says otherwise)."""
        made_by = self._made_by(receiver)
        if made_by is not None:
            found = self.method(made_by, "send_task")
            if found is not None:
                if _fixed(found.signature):
                    return (
                        f"the receiver is a {_short(made_by)}, whose send_task "
                        f"({found.cls.path}:{found.cls.line}) takes no **kwargs"
                    )
                return None
            if made_by in CELERY_CLASSES or self.is_celery(made_by):
                return None
        if self._proved_app(receiver):
            return None
        if not self.fixed_send_task:
            return None
        cls = self.fixed_send_task[0]
        return (
            f"the receiver cannot be proved a Celery app, and {_short(cls.qualname)} "
            f"({cls.path}:{cls.line}) has a send_task that takes no **kwargs"
        )

    def _proved_app(self, receiver: Receiver | None) -> bool:
        if receiver is None:
            return False
        if receiver.kind == "task":
            return True
        if receiver.kind == "name":
            name = self.canonical(receiver.name)
            return name in CURRENT_APPS or name in self.apps
        return False

    def _made_by(self, receiver: Receiver | None) -> str | None:
        """The class (or factory) that made the receiver, when the tree shows it."""
        if receiver is None:
            return None
        if receiver.kind in ("new", "self"):
            return self.canonical(receiver.name)
        if receiver.kind == "name":
            name = self.canonical(receiver.name)
            made_by = self.apps.get(name) or self.instances.get(name)
            return self.canonical(made_by) if made_by else None
        return None


def _own(cls: ClassFacts, method: str) -> Signature | None:
    return next((signature for name, signature in cls.methods if name == method), None)


def _fixed(signature: Signature | None) -> bool:
    """A send_task that raises TypeError on keywords it does not list."""
    return signature is not None and not signature.varkw


def _short(qualname: str) -> str:
    return qualname.rpartition(".")[2]
