"""Smoke test of a client generated from Roster's OpenAPI document.

Run by .ci/client.sh with the generated package `roster_client` on
PYTHONPATH, and ROSTER_BASE_URL and ROSTER_KEY (a write key) in the
environment. Uses only the generated typed functions and models: every
response must come back with the documented status and parse into the
documented model, with no field the document does not name. Exits non-zero
on the first mismatch; prints one summary line on success.
"""

from __future__ import annotations

import datetime
import os
import sys

import attrs

from roster_client import AuthenticatedClient, Client
from roster_client.api.contacts import (
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from roster_client.api.meta import get_me
from roster_client.api.notes import create_note, list_notes
from roster_client.api.segments import create_segment, get_segment
from roster_client.models import (
    Contact,
    ContactInput,
    ContactPage,
    CreatedContact,
    Deleted,
    ErrorBody,
    Filter,
    Me,
    Note,
    NoteInput,
    NoteList,
    Segment,
    SegmentInput,
)
from roster_client.types import Unset

# Models whose schema is a free-form object: everything in them is an
# additional property by design, so they are left out of the strictness check.
FREE_FORM = {"ContactCustomFields", "ContactInputCustomFieldsType0", "TimelineEventData"}

checks = 0


def fail(what: str) -> None:
    print(f"client smoke FAILED: {what}", file=sys.stderr)
    sys.exit(1)


def check(cond: bool, what: str) -> None:
    global checks
    checks += 1
    if not cond:
        fail(what)


def strict(value: object, where: str) -> None:
    """Every nested generated model holds only the fields the document names."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            strict(item, f"{where}[{i}]")
        return
    if not attrs.has(type(value)):
        return
    name = type(value).__name__
    if name in FREE_FORM:
        return
    extra = getattr(value, "additional_properties", {})
    check(not extra, f"{where}: {name} got fields the document does not declare: {sorted(extra)}")
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            strict(getattr(value, field.name), f"{where}.{field.name}")


def expect(resp, status: int, model: type, what: str):
    """The response has `status` and parsed into `model` (strictly); returns the parsed value."""
    body = resp.content.decode("utf-8", "replace")[:500]
    check(resp.status_code == status, f"{what}: status {int(resp.status_code)}, want {status}; body {body}")
    check(isinstance(resp.parsed, model), f"{what}: parsed as {type(resp.parsed).__name__}, want {model.__name__}; body {body}")
    strict(resp.parsed, what)
    return resp.parsed


def is_utc_time(value: object) -> bool:
    return isinstance(value, datetime.datetime) and value.utcoffset() == datetime.timedelta(0)


def check_contact(c: Contact | CreatedContact, what: str) -> None:
    """The fields every contact has, with the types the document gives them."""
    check(isinstance(c.id, str) and c.id != "", f"{what}: id {c.id!r}")
    check(c.organization_id == org_id, f"{what}: organizationId {c.organization_id!r}, want {org_id!r}")
    check(c.is_textable is None or isinstance(c.is_textable, bool), f"{what}: isTextable {c.is_textable!r}")
    check(c.lookup_status in (None, "pending", "done", "failed"), f"{what}: lookupStatus {c.lookup_status!r}")
    check(c.looked_up_at is None or is_utc_time(c.looked_up_at), f"{what}: lookedUpAt {c.looked_up_at!r}")
    check(c.opted_out_at is None or is_utc_time(c.opted_out_at), f"{what}: optedOutAt {c.opted_out_at!r}")
    check(is_utc_time(c.created_at) and is_utc_time(c.updated_at), f"{what}: createdAt/updatedAt not UTC times")
    check(c.updated_at >= c.created_at, f"{what}: updatedAt before createdAt")
    check(isinstance(c.custom_fields.additional_properties, dict), f"{what}: customFields not an object")


base_url = os.environ["ROSTER_BASE_URL"]
key = os.environ["ROSTER_KEY"]
# Undocumented status codes raise errors.UnexpectedStatus instead of parsing as None.
client = AuthenticatedClient(base_url=base_url, token=key, raise_on_unexpected_status=True)
anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
bad_key = AuthenticatedClient(base_url=base_url, token="rst_not_a_real_key", raise_on_unexpected_status=True)

with client, anonymous, bad_key:
    # Without a key, or with an unknown one, the API answers 401 in the error model.
    for who, c in (("anonymous", anonymous), ("unknown key", bad_key)):
        err = expect(get_me.sync_detailed(client=c), 401, ErrorBody, f"GET /api/me ({who})")
        check(err.code == "unauthorized" and err.error != "", f"GET /api/me ({who}): {err!r}")
        err = expect(list_contacts.sync_detailed(client=c), 401, ErrorBody, f"GET /api/contacts ({who})")
        check(err.code == "unauthorized", f"GET /api/contacts ({who}): code {err.code!r}")

    # The key's organization and access.
    me = expect(get_me.sync_detailed(client=client), 200, Me, "GET /api/me")
    org_id = me.organization.id
    check(me.access == "write", f"GET /api/me: access {me.access!r}, want write")
    check(me.organization.name != "" and me.key.id != "", f"GET /api/me: {me!r}")
    check(is_utc_time(me.key.created_at), f"GET /api/me: key.createdAt {me.key.created_at!r}")
    # The same call naming the organization explicitly in x-organization-id.
    expect(get_me.sync_detailed(client=client, x_organization_id=org_id), 200, Me, "GET /api/me (x-organization-id)")

    # Create: 201, `_outcome` created, phone stored as E.164, fields as sent.
    tag = "smoke-client"
    created = expect(
        create_contact.sync_detailed(
            client=client,
            body=ContactInput(
                phone="(919) 555-0101",
                email="Ada.Smoke@Example.COM",
                first_name="Ada",
                last_name="Smoke",
                state="NC",
                tags=[tag, "vip"],
            ),
        ),
        201,
        CreatedContact,
        "POST /api/contacts (create)",
    )
    check_contact(created, "POST /api/contacts (create)")
    check(created.field_outcome == "created", f"create: _outcome {created.field_outcome!r}, want created")
    check(created.phone == "+19195550101", f"create: phone {created.phone!r}, want +19195550101")
    # Case is kept for display (docs/api.md), whatever the schema's description says.
    check(created.email == "Ada.Smoke@Example.COM", f"create: email {created.email!r}, want as sent")
    check((created.first_name, created.last_name, created.state) == ("Ada", "Smoke", "NC"), f"create: {created!r}")
    check(sorted(created.tags) == sorted([tag, "vip"]), f"create: tags {created.tags!r}")
    check(created.is_opted_in is True and created.opted_out_at is None, "create: a new contact is opted in")
    check(created.is_starred is False and created.is_archived is False, "create: starred/archived default false")
    cid = created.id

    # Create again with the same number in another format: 200, merged into the same contact.
    merged = expect(
        create_contact.sync_detailed(client=client, body=ContactInput(phone="919.555.0101", city="Raleigh")),
        200,
        CreatedContact,
        "POST /api/contacts (merge)",
    )
    check_contact(merged, "POST /api/contacts (merge)")
    check(merged.field_outcome == "merged", f"merge: _outcome {merged.field_outcome!r}, want merged")
    check(merged.id == cid, f"merge: id {merged.id!r}, want {cid!r}")
    check(merged.city == "Raleigh" and merged.first_name == "Ada", f"merge: {merged!r}")

    # Create again by the same email in other case: merged too (emails match case-insensitively).
    by_email = expect(
        create_contact.sync_detailed(client=client, body=ContactInput(email="ada.smoke@example.com")),
        200,
        CreatedContact,
        "POST /api/contacts (merge by email)",
    )
    check(by_email.field_outcome == "merged" and by_email.id == cid, f"merge by email: {by_email!r}")

    # A second contact without the tag, which the tag filter must leave out.
    other = expect(
        create_contact.sync_detailed(client=client, body=ContactInput(phone="+19195550102", tags=["other"])),
        201,
        CreatedContact,
        "POST /api/contacts (other)",
    )

    # Get by id: every field parses into the Contact model (isTextable may still be null).
    got = expect(get_contact.sync_detailed(cid, client=client), 200, Contact, "GET /api/contacts/{id}")
    check_contact(got, "GET /api/contacts/{id}")
    check(got.phone == "+19195550101" and got.city == "Raleigh", f"get: {got!r}")
    check(isinstance(got.timezone, (str, type(None))), f"get: timezone {got.timezone!r}")

    # List with a tag filter: the tagged contact is on the page, the other is not.
    page = expect(
        list_contacts.sync_detailed(client=client, tags=tag, include_total=True, limit=10),
        200,
        ContactPage,
        "GET /api/contacts?tags=",
    )
    ids = [c.id for c in page.contacts]
    check(cid in ids, f"list: {cid} not on the page {ids}")
    check(other.id not in ids, f"list: untagged contact {other.id} on the page {ids}")
    check(page.total == 1 and page.has_more is False and page.limit == 10, f"list: {page!r}")
    check(isinstance(page.sort_by, str) and (page.cursor is None or isinstance(page.cursor, str)), f"list: {page!r}")
    for c in page.contacts:
        check_contact(c, "GET /api/contacts (item)")

    # Update (PUT): the named fields change, `null` clears one, the rest stay.
    updated = expect(
        update_contact.sync_detailed(
            cid, client=client, body=ContactInput(first_name="Augusta", city=None, is_starred=True)
        ),
        200,
        Contact,
        "PUT /api/contacts/{id}",
    )
    check_contact(updated, "PUT /api/contacts/{id}")
    check(updated.first_name == "Augusta" and updated.city is None and updated.is_starred is True, f"put: {updated!r}")
    check(updated.last_name == "Smoke" and updated.phone == "+19195550101", f"put: untouched fields changed: {updated!r}")
    again = expect(get_contact.sync_detailed(cid, client=client), 200, Contact, "GET /api/contacts/{id} (after PUT)")
    check(again.first_name == "Augusta" and again.city is None and again.is_starred is True, f"get after put: {again!r}")

    # Add a note, then list the contact's notes.
    note = expect(
        create_note.sync_detailed(cid, client=client, body=NoteInput(body="  called, left a message  ")),
        201,
        Note,
        "POST /api/contacts/{id}/notes",
    )
    check(note.contact_id == cid and note.body == "called, left a message", f"note: {note!r}")
    check(is_utc_time(note.created_at) and is_utc_time(note.updated_at), f"note: times {note!r}")
    notes = expect(list_notes.sync_detailed(cid, client=client), 200, NoteList, "GET /api/contacts/{id}/notes")
    check([n.id for n in notes.notes] == [note.id], f"notes: {notes!r}")

    # A segment on the tag counts the one contact that has it.
    seg = expect(
        create_segment.sync_detailed(client=client, body=SegmentInput(name="Smoke", filters=Filter(tags=[tag]))),
        201,
        Segment,
        "POST /api/segments",
    )
    check(seg.name == "Smoke" and seg.contact_count == 1, f"segment: {seg!r}")
    check(not isinstance(seg.filters.tags, Unset) and seg.filters.tags == [tag], f"segment filters: {seg.filters!r}")
    seg_got = expect(get_segment.sync_detailed(seg.id, client=client), 200, Segment, "GET /api/segments/{id}")
    check(seg_got.id == seg.id and seg_got.contact_count == 1, f"segment get: {seg_got!r}")

    # Delete: the Deleted answer, then 404 in the error model, and the segment counts none.
    deleted = expect(delete_contact.sync_detailed(cid, client=client), 200, Deleted, "DELETE /api/contacts/{id}")
    check(deleted.id == cid and deleted.deleted is True, f"delete: {deleted!r}")
    gone = expect(get_contact.sync_detailed(cid, client=client), 404, ErrorBody, "GET /api/contacts/{id} (deleted)")
    check(gone.code == "not_found" and isinstance(gone.error, str) and gone.error != "", f"get deleted: {gone!r}")
    seg_after = expect(get_segment.sync_detailed(seg.id, client=client), 200, Segment, "GET /api/segments/{id} (after delete)")
    check(seg_after.contact_count == 0, f"segment after delete: contactCount {seg_after.contact_count}")

print(f"client smoke: {checks} checks passed against {base_url} (contact {cid}, segment {seg.id})")
