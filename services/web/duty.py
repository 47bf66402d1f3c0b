"""Police pages of the alerts' set-up: a unit's duty roster (值班) and group
robot, which the unit's supervisor (or one above) edits and its police
read; and each police person's alert channels per severity. Everything
through notify's API (`/units/{id}/roster`, `/units/{id}/robot`,
`/alerts/settings`); the officers to choose from through intake's
directory."""
from typing import Optional
from urllib.parse import quote

from services.web import roster_form as rf
from services.web.api import NotFound
from services.web.pages import Page, PageNotFound, page

POLICE = ("officer", "supervisor")


class Duty:
    # -- the duty roster ------------------------------------------------------------
    def _units_for(self, p: Page) -> list:
        """The units whose roster this person opens: a supervisor's own and
        every unit below it; an officer's own."""
        assert p.session is not None
        mine = p.session["unit"]
        units = p.api("intake").get("/units")["items"]
        if p.role == "supervisor":
            return [u for u in units if mine in (u.get("path") or [u["unit_id"]])]
        return [u for u in units if u["unit_id"] == mine]

    def _robot(self, p: Page, unit_id) -> Optional[dict]:
        try:
            return p.api("notify").get(f"/units/{unit_id}/robot")
        except NotFound:
            return None     # no robot yet (or not this person's to see)

    def _roster_page(self, p: Page, unit_id, status=200, model=None, errors=None,
                     problem=None, robot_values=None, robot_errors=None, saved=None):
        units = self._units_for(p)
        unit = next((u for u in units if u["unit_id"] == unit_id), None)
        if unit is None:
            raise PageNotFound()
        roster = p.api("notify").get(f"/units/{unit_id}/roster")
        officers = p.api("intake").get(f"/units/{unit_id}/officers")["items"]
        names = {o["officer_id"]: o["name"] for o in officers}
        robot = self._robot(p, unit_id)
        labels = self._roster_labels(p, model or rf.model_of(roster), names)
        return p.render("duty/roster.html", status=status, unit=unit, units=units,
                        roster=roster, model=model or rf.model_of(roster), officers=officers,
                        names=names, robot=robot, errors=errors or {}, problem=problem,
                        labels=labels, weekdays=rf.WEEKDAYS, saved=saved,
                        can_edit=p.role == "supervisor",
                        robot_values=robot_values if robot_values is not None
                        else {"url": (robot or {}).get("url", "")},
                        robot_errors=robot_errors or {})

    def _roster_labels(self, p: Page, model: dict, names: dict) -> dict:
        """Each field's name as the error summary says it: 周一 第 2 班 结束."""
        parts = {"start": p.t("start"), "end": p.t("end"), "officers": p.t("officers on duty")}
        labels = {"overrides": p.t("Dated changes"), "officers": p.t("Officers on duty")}
        for day in rf.WEEKDAYS:
            for i, _ in enumerate(model["weekly"][day]):
                for f, said in parts.items():
                    labels[f"{day}-{i}-{f}"] = p.t("{day}, shift {n}, {part}",
                                                   day=p.t(DAY_NAMES[day]), n=i + 1, part=said)
        for j, o in enumerate(model["overrides"]):
            labels[f"ov-{j}-date"] = p.t("Dated change {n}: date", n=j + 1)
            labels[f"ov-{j}-reason"] = p.t("Dated change {n}: reason", n=j + 1)
            for i, _ in enumerate(o["shifts"]):
                for f, said in parts.items():
                    labels[f"ov-{j}-{i}-{f}"] = p.t("Dated change {n}, shift {m}, {part}",
                                                    n=j + 1, m=i + 1, part=said)
        return labels

    @page("GET", "/roster", POLICE)
    def roster_home(self, p: Page):
        assert p.session is not None
        unit = p.request.args.get("unit") or p.session["unit"]
        return p.redirect(f"/roster/{quote(unit, safe='')}")

    @page("GET", "/roster/<unit_id>", POLICE)
    def roster_view(self, p: Page, unit_id):
        return self._roster_page(p, unit_id, saved=p.request.args.get("saved"))

    @page("POST", "/roster/<unit_id>", ("supervisor",))
    def roster_save(self, p: Page, unit_id):
        model = rf.model_from(p.form)
        more = p.form.get("more")
        if more:
            # "Add a shift" / "Add a date": the same form with one more row,
            # nothing saved yet.
            return self._roster_page(p, unit_id, model=rf.add_row(model, more))
        body, where = rf.body_of(model)
        refused = p.submit("notify", f"/units/{unit_id}/roster", body, method="PUT",
                           refusals=(400, 409, 422))
        if refused:
            return self._roster_page(p, unit_id, status=refused.status, model=model,
                                     errors=rf.roster_errors(refused.fields, where),
                                     problem=refused.detail)
        p.flash(p.t("The duty roster is saved."))
        return p.redirect(f"/roster/{unit_id}")

    @page("POST", "/roster/<unit_id>/robot", ("supervisor",))
    def robot_save(self, p: Page, unit_id):
        body = {"url": p.form.get("robot-url", "").strip(), "kind": "dingtalk",
                "secret": p.form.get("robot-secret", "").strip() or None}
        refused = p.submit("notify", f"/units/{unit_id}/robot", body, method="PUT",
                           refusals=(400, 409, 422))
        if refused:
            errors = {f"robot-{k}": v for k, v in rf.settings_errors(refused.fields).items()}
            return self._roster_page(p, unit_id, status=refused.status,
                                     robot_values={"url": body["url"]}, robot_errors=errors
                                     or {"robot-url": refused.detail})
        p.flash(p.t("The group robot is saved."))
        return p.redirect(f"/roster/{unit_id}#robot-h")

    # -- a person's alert channels ----------------------------------------------------
    def _settings_page(self, p: Page, status=200, values=None, errors=None, problem=None,
                       saved=False):
        if values is None:
            values = rf.channels_model(p.api("notify").get("/alerts/settings"))
        return p.render("duty/alert_settings.html", status=status, values=values,
                        errors=errors or {}, problem=problem, saved=saved,
                        severities=rf.SEVERITIES, channels=rf.CHANNELS)

    @page("GET", "/alerts/settings", POLICE)
    def alert_settings(self, p: Page):
        return self._settings_page(p)

    @page("POST", "/alerts/settings", POLICE)
    def alert_settings_save(self, p: Page):
        values = rf.channels_from(p.form)
        refused = p.submit("notify", "/alerts/settings", rf.settings_body(values),
                           method="PUT", refusals=(400, 409, 422))
        if refused:
            return self._settings_page(p, status=refused.status, values=values,
                                       errors=rf.settings_errors(refused.fields),
                                       problem=refused.detail)
        return self._settings_page(p, values=rf.channels_model(p.answered), saved=True)


DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
