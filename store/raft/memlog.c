/*
 * store/raft/memlog.c — the core's in-memory view of the log, membership
 * encoding, and message copies.
 *
 * DESIGN
 * The core keeps every entry after the latest snapshot in one array
 * (ents[i].index == offset + 1 + i), each entry's data in its own
 * allocation. The durable copy is the driver's (store/log.c); entries with
 * index > stable have not been handed out for persisting yet. Compaction
 * (a snapshot was taken) drops a prefix; a conflicting suffix (§5.3) is
 * truncated. Because snapshots are taken every snapshot_threshold entries
 * the array stays bounded. A configuration is encoded as little-endian
 * u32 counts followed by u64 ids.
 */
#include "store/raft/raft_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

uint64_t raft_log_last(const struct raft *r)
{
    return r->offset + r->n_ents;
}

bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *ret_term)
{
    if (index == r->offset) {
        *ret_term = r->snap.term;
        return true;
    }
    if (index < r->offset || index > raft_log_last(r))
        return false;
    *ret_term = r->ents[index - r->offset - 1].term;
    return true;
}

uint64_t raft_log_last_term(const struct raft *r)
{
    uint64_t t = 0;
    raft_log_term(r, raft_log_last(r), &t);
    return t;
}

int raft_log_append(struct raft *r, uint64_t term, uint8_t type,
                    const void *data, size_t len)
{
    void *copy = NULL;
    if (r->n_ents == r->cap_ents) {
        size_t cap = r->cap_ents ? r->cap_ents * 2 : 64;
        struct raft_entry *e = realloc(r->ents, cap * sizeof *e);
        if (!e)
            return K1S_ENOMEM;
        r->ents = e;
        r->cap_ents = cap;
    }
    if (len > 0) {
        copy = malloc(len);
        if (!copy)
            return K1S_ENOMEM;
        memcpy(copy, data, len);
    }
    struct raft_entry *e = &r->ents[r->n_ents++];
    e->index = raft_log_last(r);
    e->term = term;
    e->type = type;
    e->data = copy;
    e->len = len;
    return 0;
}

void raft_log_truncate(struct raft *r, uint64_t from)
{
    if (from <= r->offset || from > raft_log_last(r))
        return;
    size_t keep = (size_t)(from - r->offset - 1);
    for (size_t i = keep; i < r->n_ents; i++)
        free((void *)r->ents[i].data);
    r->n_ents = keep;
    if (r->stable >= from)
        r->stable = from - 1;
}

void raft_log_compact(struct raft *r, uint64_t index)
{
    if (index <= r->offset)
        return;
    if (index > raft_log_last(r))
        index = raft_log_last(r);
    size_t drop = (size_t)(index - r->offset);
    for (size_t i = 0; i < drop; i++)
        free((void *)r->ents[i].data);
    memmove(r->ents, r->ents + drop, (r->n_ents - drop) * sizeof *r->ents);
    r->n_ents -= drop;
    r->offset = index;
    if (r->stable < index)
        r->stable = index;
}

void raft_log_reset(struct raft *r, uint64_t index)
{
    for (size_t i = 0; i < r->n_ents; i++)
        free((void *)r->ents[i].data);
    r->n_ents = 0;
    r->offset = index;
    r->stable = index;
}

void raft_log_free(struct raft *r)
{
    raft_log_reset(r, r->offset);
    free(r->ents);
    r->ents = NULL;
    r->cap_ents = 0;
}

void raft_log_conf_at(const struct raft *r, uint64_t index,
                      struct raft_conf *ret_conf, uint64_t *ret_conf_index)
{
    if (index > raft_log_last(r))
        index = raft_log_last(r);
    for (uint64_t i = index; i > r->offset; i--) {
        const struct raft_entry *e = &r->ents[i - r->offset - 1];
        if (e->type == RAFT_ENTRY_CONFIG &&
            raft_conf_decode(e->data, e->len, ret_conf) == 0) {
            *ret_conf_index = i;
            return;
        }
    }
    *ret_conf = r->snap.conf;
    *ret_conf_index = 0;
}

/* --- membership ------------------------------------------------------- */

static bool id_in(const uint64_t *ids, uint32_t n, uint64_t id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool raft_conf_is_voter(const struct raft_conf *c, uint64_t id)
{
    return id_in(c->voters, c->n_voters, id);
}

bool raft_conf_is_learner(const struct raft_conf *c, uint64_t id)
{
    return id_in(c->learners, c->n_learners, id);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t raft_conf_encode(const struct raft_conf *c,
                        uint8_t out[RAFT_CONF_MAX_ENCODED])
{
    size_t o = 8;
    put_u32(out, c->n_voters);
    put_u32(out + 4, c->n_learners);
    for (uint32_t i = 0; i < c->n_voters; i++, o += 8)
        put_u64(out + o, c->voters[i]);
    for (uint32_t i = 0; i < c->n_learners; i++, o += 8)
        put_u64(out + o, c->learners[i]);
    return o;
}

int raft_conf_decode(const void *data, size_t len, struct raft_conf *ret_c)
{
    const uint8_t *p = data;
    if (!p || len < 8)
        return K1S_EINVAL;
    uint32_t nv = get_u32(p), nl = get_u32(p + 4);
    if (nv > RAFT_MAX_MEMBERS || nl > RAFT_MAX_MEMBERS ||
        nv + nl > RAFT_MAX_MEMBERS || len != 8 + 8 * (size_t)(nv + nl))
        return K1S_EINVAL;
    struct raft_conf c;
    memset(&c, 0, sizeof c);
    c.n_voters = nv;
    c.n_learners = nl;
    size_t o = 8;
    for (uint32_t i = 0; i < nv; i++, o += 8)
        c.voters[i] = get_u64(p + o);
    for (uint32_t i = 0; i < nl; i++, o += 8)
        c.learners[i] = get_u64(p + o);
    for (uint32_t i = 0; i < nv + nl; i++) {
        uint64_t id = i < nv ? c.voters[i] : c.learners[i - nv];
        if (id == 0)
            return K1S_EINVAL;
        for (uint32_t j = i + 1; j < nv + nl; j++)
            if (id == (j < nv ? c.voters[j] : c.learners[j - nv]))
                return K1S_EINVAL;
    }
    *ret_c = c;
    return 0;
}

/* --- messages ---------------------------------------------------------- */

int raft_msg_clone(const struct raft_msg *m, struct raft_msg *ret_copy)
{
    size_t total = m->n_entries * sizeof(struct raft_entry) + m->snap_len;
    for (size_t i = 0; i < m->n_entries; i++)
        total += m->entries[i].len;
    *ret_copy = *m;
    ret_copy->buf = NULL;
    ret_copy->entries = NULL;
    ret_copy->snap_data = NULL;
    if (total == 0)
        return 0;
    uint8_t *buf = malloc(total);
    if (!buf)
        return K1S_ENOMEM;
    struct raft_entry *ents = (struct raft_entry *)buf;
    uint8_t *p = buf + m->n_entries * sizeof(struct raft_entry);
    for (size_t i = 0; i < m->n_entries; i++) {
        ents[i] = m->entries[i];
        if (m->entries[i].len) {
            memcpy(p, m->entries[i].data, m->entries[i].len);
            ents[i].data = p;
            p += m->entries[i].len;
        } else {
            ents[i].data = NULL;
        }
    }
    if (m->snap_len) {
        memcpy(p, m->snap_data, m->snap_len);
        ret_copy->snap_data = p;
    }
    ret_copy->entries = m->n_entries ? ents : NULL;
    ret_copy->buf = buf;
    return 0;
}

void raft_msg_free(struct raft_msg *m)
{
    if (!m)
        return;
    free(m->buf);
    m->buf = NULL;
    m->entries = NULL;
    m->n_entries = 0;
    m->snap_data = NULL;
    m->snap_len = 0;
}

const char *raft_msg_type_name(int type)
{
    static const char *const names[] = {
        "?",         "APPEND",      "APPEND_RESP",   "VOTE",
        "VOTE_RESP", "PREVOTE",     "PREVOTE_RESP",  "HEARTBEAT",
        "HB_RESP",   "SNAPSHOT",    "SNAPSHOT_RESP", "READ_INDEX",
        "READ_RESP", "TIMEOUT_NOW",
    };
    if (type < 0 || (size_t)type >= sizeof names / sizeof names[0])
        return "?";
    return names[type];
}
