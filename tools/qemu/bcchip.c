/*
 * Bastionchip: an emulated PCIe hardware security module.
 *
 * The device implements the host interface of docs/hardware.md (BAR0
 * registers, submission/completion rings in guest memory, MSI-X in BAR4)
 * and forwards every command frame to the chip's firmware, a separate
 * `bcchip-emu` process reached through a chardev (docs/emulator.md).
 *
 * Everything runs with the BQL held: MMIO handlers only record doorbell
 * values and schedule a bottom half; the bottom half and the chardev
 * handlers (main loop) do the DMA, the socket I/O and the completions.
 * The guest chooses every DMA and MSI-X address, so each of those may
 * come back to us (config space through MMCFG: FLR, or a root port
 * powering our slot off): see bc_dma().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/pcie_aer.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "chardev/char-fe.h"
#include "migration/vmstate.h"
#include "qom/object.h"

#define TYPE_BCCHIP "bcchip"
OBJECT_DECLARE_SIMPLE_TYPE(BcchipState, BCCHIP)

/* PCI identity (placeholder IDs, see docs/hardware.md). */
#define BC_PCI_VENDOR   0x1bcc
#define BC_PCI_DEVICE   0xbc01
#define BC_PCI_CLASS    0x1080
#define BC_PCI_REVISION 0x01

#define BC_BAR_REGS     0
#define BC_BAR_MSIX     4
#define BC_BAR0_SIZE    0x4000

/* Register map. */
#define BC_REG_MAGIC    0x000
#define BC_REG_VERSION  0x004
#define BC_REG_CAP0     0x008
#define BC_REG_CAP1     0x00c
#define BC_REG_CAP2     0x010
#define BC_REG_CC       0x020
#define BC_REG_CSTS     0x024
#define BC_REG_ABORT    0x028
#define BC_REG_EQB_LO   0x030
#define BC_REG_EQB_HI   0x034
#define BC_REG_EQSIZE   0x038
#define BC_REG_EQCTL    0x03c
#define BC_REG_EQHDBL   0x040
#define BC_REG_Q_BASE   0x100
#define BC_REG_Q_STRIDE 0x20
#define BC_REG_DB_BASE  0x1000
#define BC_IS_QREG(a) \
    ((a) >= BC_REG_Q_BASE && (a) < BC_REG_Q_BASE + BC_NQ * BC_REG_Q_STRIDE)
#define BC_REG_DB_STRIDE 8

#define BC_Q_SQB_LO     0x00
#define BC_Q_SQB_HI     0x04
#define BC_Q_CQB_LO     0x08
#define BC_Q_CQB_HI     0x0c
#define BC_Q_SIZE       0x10
#define BC_Q_CTL        0x14

#define BC_MAGIC        0x50484342u /* "BCHP" */
#define BC_VERSION      0x00010000u
#define BC_CC_EN        0x1u
#define BC_CSTS_RDY     0x1u
#define BC_CSTS_CFS     0x2u
#define BC_CSTS_FWLINK  0x4u
#define BC_QCTL_ENABLE  0x1u
#define BC_EQCTL_ENABLE 0x1u

/* The emulated chip's limits (docs/hardware.md, "Limits"). */
#define BC_MQES         1024
#define BC_NIOQ         4
#define BC_NQ           (1 + BC_NIOQ)
#define BC_NVEC         (BC_NQ + 1) /* the last one: the event queue */
#define BC_EQ_VECTOR    (BC_NVEC - 1)
#define BC_TO           4
#define BC_MAXFRAME     32768u
#define BC_MINFRAME     24u
#define BC_CAP0         (BC_MQES | (BC_NIOQ << 16) | (BC_TO << 24))

#define BC_SQE_SIZE     64
#define BC_CQE_SIZE     16
#define BC_EVE_SIZE     32
/* Events kept while the ring is full or off; more are counted as lost. */
#define BC_EV_BACKLOG   64
#define BC_EV_LOST      6   /* enum bcchip_event_type */
#define BC_RING_ALIGN   4096

/* Device status, CQE STATUS bits 15:1. */
enum {
    BC_DS_SUCCESS = 0,
    BC_DS_INVALID = 1,
    BC_DS_DMA_ERROR = 2,
    BC_DS_FW_UNAVAILABLE = 3,
    BC_DS_ABORTED = 4,
    BC_DS_OVERFLOW = 5,
};

/* Emulator envelope (docs/emulator.md, lib/emu_envelope.h). */
#define BCEM_MAGIC       0x4d454342u /* "BCEM" */
#define BCEM_HDR_SIZE    24
#define BCEM_MAX_PAYLOAD (1u << 20)
enum {
    BCEM_REQUEST = 1,
    BCEM_RESPONSE = 2,
    BCEM_RESET = 3,
    BCEM_RESET_DONE = 4,
    BCEM_EVENT = 5,
    BCEM_SUBSCRIBE = 6,
};

/*
 * Requests queued for the socket beyond this stop the fetching of new
 * entries until the emulator catches up, so a stalled emulator costs a
 * bounded amount of memory.
 */
#define BC_TX_HIGH      (1u << 20)

/*
 * Each command sent gets a tag unique among the chip's commands (a serial
 * number, mapped back to queue and CID by BcchipState.tags).  A command
 * dropped by a reset or an abort loses its tag, so a late response for it
 * never matches a later command that reuses the CID.
 */
typedef struct BcCmd {
    uint64_t resp_addr;
    uint32_t resp_cap;
    uint32_t tag;
    uint16_t cid;
    uint16_t q;
} BcCmd;

typedef struct BcDone {
    uint32_t resp_len;
    uint16_t cid;
    uint16_t sq_id;     /* the queue's own, except for an injected fault */
    uint16_t status;
} BcDone;

/*
 * x-fault: the device misbehaves on purpose, so that the guest driver's
 * defences against a broken or hostile device can be tested.
 */
typedef enum BcFault {
    BC_FAULT_OFF,
    BC_FAULT_DUP,       /* every completion posted twice */
    BC_FAULT_LATE,      /* the queue's previous completion again, before each */
    BC_FAULT_BADCID,    /* before each: a CID no queue has, a wrong SQ_ID */
    BC_FAULT_BADLEN,    /* RESP_LEN beyond RESP_CAP, or beyond MAXFRAME */
    BC_FAULT__MAX,
} BcFault;

static const char *const bc_fault_names[BC_FAULT__MAX] = {
    [BC_FAULT_OFF] = "off",
    [BC_FAULT_DUP] = "dup",
    [BC_FAULT_LATE] = "late",
    [BC_FAULT_BADCID] = "badcid",
    [BC_FAULT_BADLEN] = "badlen",
};

/* The CID of BC_FAULT_BADCID: beyond any queue's size */
#define BC_FAULT_CID    0xffff

/* What a DMA transfer or an interrupt message of the device came to. */
typedef enum BcDmaResult {
    BC_DMA_OK,
    BC_DMA_FAILED,
    /*
     * The device was reset or unplugged by the transfer itself (a guest
     * can aim DMA and MSI-X messages at config space through MMCFG):
     * queues, commands and completions the caller held are gone.
     */
    BC_DMA_RESET,
} BcDmaResult;

typedef struct BcQueue {
    /* Registers as the host wrote them. */
    uint32_t sqb_lo, sqb_hi, cqb_lo, cqb_hi, qsize, qctl;

    /* Ring state, meaningful while qctl has ENABLE. */
    uint64_t sqb, cqb;
    uint32_t size;
    uint32_t sq_tail;   /* last value of SQTDBL */
    uint32_t sq_head;   /* next entry the device fetches */
    uint32_t cq_tail;   /* next slot the device writes */
    uint32_t cq_head;   /* last value of CQHDBL */
    bool phase;

    GHashTable *inflight;   /* cid -> BcCmd *, sent to the firmware */
    GQueue done;            /* BcDone *, waiting for room in the CQ */
    bool notify;            /* completions written since the last MSI-X */

    /*
     * ABORTs for entries published but not fetched yet: cid -> the value
     * of `fetched` at which the abort expires, the SQ tail when it came.
     */
    GHashTable *aborts;
    uint32_t fetched;       /* entries fetched since the queue was enabled */
    BcDone last;            /* the last real completion, for x-fault=late */
    bool has_last;
} BcQueue;

/* An event waiting for room in the event ring. */
typedef struct BcEvent {
    uint16_t type;
    uint64_t time, arg0, arg1;
} BcEvent;

typedef struct BcEventQueue {
    uint32_t eqb_lo, eqb_hi, eqsize, eqctl; /* as the host wrote them */
    uint64_t base;          /* meaningful while eqctl has ENABLE */
    uint32_t size;
    uint32_t tail;          /* next slot the device writes */
    uint32_t head;          /* last value of EQHDBL */
    bool phase;
    bool notify;
    GQueue backlog;         /* BcEvent *, oldest first */
    uint64_t lost;          /* dropped since the last LOST event queued */
    uint64_t lost_time;     /* chip time of the last one dropped */
    uint32_t seq;           /* events written since the device was created */
} BcEventQueue;

struct BcchipState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    CharBackend chr;
    QEMUBH *bh;

    uint32_t cc;
    uint32_t csts;          /* RDY and CFS; FWLINK comes from `connected` */
    bool connected;
    /* the firmware went away while enabled: it forgot our clients */
    bool fw_lost;
    BcQueue q[BC_NQ];
    BcEventQueue eq;
    GHashTable *tags;       /* tag -> BcCmd * (owned by its queue) */
    uint32_t next_tag;

    /*
     * Bumped whenever queues or commands are dropped (disable, queue drop,
     * reset, unplug): code that did a DMA or raised an interrupt compares
     * it before and after, and drops what it was holding if it moved.
     */
    uint32_t gen;
    bool unrealized;
    bool flr_pending;       /* an FLR written by our own DMA, not done yet */
    BcFault fault;

    /*
     * Nonzero while the device itself is doing DMA or signalling an
     * interrupt: a guest that points those at our own BAR must not be able
     * to reset or reconfigure the device under our feet (BAR0 writes are
     * ignored meanwhile, an FLR in config space waits for the end).
     */
    unsigned busy;

    /* Receive side of the socket: one envelope at a time. */
    uint8_t rx_hdr[BCEM_HDR_SIZE];
    uint32_t rx_hdr_got;
    uint8_t *rx_payload;
    uint32_t rx_len;
    uint32_t rx_got;
    bool rx_broken;         /* malformed input: disconnect pending */

    /* Transmit side: bytes the socket did not take yet. */
    GByteArray *tx;
    size_t tx_off;
    guint tx_watch;
    bool tx_ends_in_reset;  /* the last envelope queued is an unsent RESET */

    uint8_t *frame;         /* BC_MAXFRAME scratch for request frames */
};

static void bc_schedule(BcchipState *s)
{
    if (!s->unrealized) {
        qemu_bh_schedule(s->bh);
    }
}

/*
 * Our own DMA and MSI-X writes can reach our config space (through the
 * MMCFG window): an FLR they set is held back by bc_config_write and
 * carried out here, once the outermost transfer is over, so that no
 * transfer is ever cut in two by a reset.
 */
static void bc_busy_end(BcchipState *s)
{
    if (--s->busy == 0 && s->flr_pending) {
        s->flr_pending = false;
        if (!s->unrealized) {
            pci_device_reset(PCI_DEVICE(s));
        }
    }
}

/*
 * The transfer may have reset the device (a held-back FLR, above) or even
 * unplugged it (a root port's slot powered off through MMCFG): then
 * BC_DMA_RESET, and the caller must let go of everything it held.
 */
static BcDmaResult bc_dma(BcchipState *s, uint64_t addr, void *buf,
                          uint32_t len, DMADirection dir)
{
    uint32_t gen = s->gen;
    MemTxResult r;

    s->busy++;
    r = pci_dma_rw(PCI_DEVICE(s), addr, buf, len, dir,
                   MEMTXATTRS_UNSPECIFIED);
    bc_busy_end(s);
    if (s->gen != gen) {
        return BC_DMA_RESET;
    }
    return r == MEMTX_OK ? BC_DMA_OK : BC_DMA_FAILED;
}

static BcDmaResult bc_dma_read(BcchipState *s, uint64_t addr, void *buf,
                               uint32_t len)
{
    return bc_dma(s, addr, buf, len, DMA_DIRECTION_TO_DEVICE);
}

static BcDmaResult bc_dma_write(BcchipState *s, uint64_t addr,
                                const void *buf, uint32_t len)
{
    return bc_dma(s, addr, (void *)buf, len, DMA_DIRECTION_FROM_DEVICE);
}

static bool bc_msix_entry_masked(PCIDevice *pdev, unsigned v)
{
    uint8_t *e = pdev->msix_table + v * PCI_MSIX_ENTRY_SIZE;

    return pci_get_long(e + PCI_MSIX_ENTRY_VECTOR_CTRL) &
           PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/*
 * Vector q serves queue q, vector NVEC - 1 the event queue.  A host granted
 * fewer vectors than NVEC leaves the others masked (their reset state);
 * then the device raises `vector mod granted`, granted being the run of
 * unmasked entries from 0.
 */
static void bc_notify(BcchipState *s, unsigned vector)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned v = vector, granted = 0;

    if (s->unrealized || !msix_enabled(pdev)) {
        return;
    }
    if (bc_msix_entry_masked(pdev, vector)) {
        while (granted < BC_NVEC && !bc_msix_entry_masked(pdev, granted)) {
            granted++;
        }
        if (granted) {
            v = vector % granted;
        }
    }
    /* the message is a DMA write too: it may reset or unplug us */
    s->busy++;
    msix_notify(pdev, v);
    bc_busy_end(s);
}

static void bc_fatal(BcchipState *s, const char *why)
{
    if (!(s->csts & BC_CSTS_CFS)) {
        qemu_log_mask(LOG_GUEST_ERROR, "bcchip: fatal status: %s\n", why);
    }
    s->csts |= BC_CSTS_CFS;
}

/* ---- socket transmit ---- */

static void bc_tx_flush(BcchipState *s);

static gboolean bc_tx_writable(void *do_not_use, GIOCondition cond,
                               void *opaque)
{
    BcchipState *s = opaque;

    s->tx_watch = 0;
    bc_tx_flush(s);
    bc_schedule(s);
    return G_SOURCE_REMOVE;
}

static size_t bc_tx_pending(BcchipState *s)
{
    return s->tx->len - s->tx_off;
}

static void bc_tx_clear(BcchipState *s)
{
    if (s->tx_watch) {
        g_source_remove(s->tx_watch);
        s->tx_watch = 0;
    }
    g_byte_array_set_size(s->tx, 0);
    s->tx_off = 0;
    s->tx_ends_in_reset = false;
}

/*
 * Writes without blocking the main loop; what the socket does not take now
 * goes out when it becomes writable.  A write error makes the chardev
 * report CHR_EVENT_CLOSED, possibly from inside qemu_chr_fe_write(), and
 * that handler empties the buffer: hence the state is re-read each turn.
 */
static void bc_tx_flush(BcchipState *s)
{
    while (s->connected && bc_tx_pending(s) > 0) {
        size_t n = MIN(bc_tx_pending(s), (size_t)INT_MAX);
        int r = qemu_chr_fe_write(&s->chr, s->tx->data + s->tx_off, n);

        if (r > 0) {
            s->tx_off += r;
            continue;
        }
        if (r < 0 && errno == EAGAIN && s->connected && !s->tx_watch) {
            s->tx_watch = qemu_chr_fe_add_watch(&s->chr, G_IO_OUT | G_IO_HUP,
                                                bc_tx_writable, s);
        }
        break;
    }
    if (s->tx_off == s->tx->len) {
        g_byte_array_set_size(s->tx, 0);
        s->tx_off = 0;
        s->tx_ends_in_reset = false;
    } else if (s->tx_off > BC_TX_HIGH) {
        g_byte_array_remove_range(s->tx, 0, s->tx_off);
        s->tx_off = 0;
    }
}

static void bc_tx_envelope(BcchipState *s, uint16_t type, uint32_t client,
                           uint32_t tag, const void *payload, uint32_t len)
{
    uint8_t h[BCEM_HDR_SIZE] = { 0 };

    stl_le_p(h + 0, BCEM_MAGIC);
    stw_le_p(h + 4, type);
    stw_le_p(h + 6, 0);
    stl_le_p(h + 8, client);
    stl_le_p(h + 12, tag);
    stl_le_p(h + 16, len);
    s->tx_ends_in_reset = type == BCEM_RESET;
    g_byte_array_append(s->tx, h, sizeof(h));
    if (len) {
        g_byte_array_append(s->tx, payload, len);
    }
}

/* ---- completions ---- */

static void bc_push_done(BcQueue *bq, const BcDone *src)
{
    g_queue_push_tail(&bq->done, g_memdup2(src, sizeof(*src)));
}

/*
 * Queues a completion for the CQ.  Injected faults (x-fault) join the
 * same queue, so that they wait for CQ room and get their phase and
 * SQ_HEAD like any completion: they look like real device output.
 */
static void bc_complete(BcchipState *s, unsigned q, uint16_t cid,
                        uint16_t status, uint32_t resp_len)
{
    BcQueue *bq = &s->q[q];
    BcDone d = {
        .resp_len = resp_len, .cid = cid, .sq_id = q, .status = status,
    };
    BcDone bad;

    switch (s->fault) {
    case BC_FAULT_LATE:
        /* by now the host may well have reused that CID */
        if (bq->has_last) {
            bc_push_done(bq, &bq->last);
        }
        break;
    case BC_FAULT_BADCID:
        bad = d;
        bad.cid = BC_FAULT_CID;
        bc_push_done(bq, &bad);
        /* the right CID, a queue that does not exist */
        bad = d;
        bad.sq_id = BC_NQ + q;
        bc_push_done(bq, &bad);
        break;
    default:
        break;
    }
    bc_push_done(bq, &d);
    if (s->fault == BC_FAULT_DUP) {
        bc_push_done(bq, &d);
    }
    bq->last = d;
    bq->has_last = true;
    bc_schedule(s);
}

static bool bc_queue_live(BcchipState *s, unsigned q)
{
    return !s->unrealized &&
           (s->csts & BC_CSTS_RDY) && !(s->csts & BC_CSTS_CFS) &&
           (s->q[q].qctl & BC_QCTL_ENABLE);
}

/*
 * Writes held completions while the CQ has room.  SQ_HEAD is the next
 * entry the device will fetch, as of the moment the entry is written.
 */
static void bc_post_completions(BcchipState *s, unsigned q)
{
    BcQueue *bq = &s->q[q];

    while (bc_queue_live(s, q) && !g_queue_is_empty(&bq->done)) {
        uint8_t cqe[BC_CQE_SIZE] = { 0 };
        BcDone *d;

        if ((bq->cq_tail + 1) % bq->size == bq->cq_head) {
            return; /* full: wait for CQHDBL */
        }
        /* ours now: a reset during the write empties the queue */
        d = g_queue_pop_head(&bq->done);
        stl_le_p(cqe + 0, d->resp_len);
        stw_le_p(cqe + 4, bq->sq_head);
        stw_le_p(cqe + 6, d->sq_id);
        stw_le_p(cqe + 8, d->cid);
        stw_le_p(cqe + 10, (d->status << 1) | (bq->phase ? 1 : 0));
        switch (bc_dma_write(s, bq->cqb + (uint64_t)bq->cq_tail * BC_CQE_SIZE,
                             cqe, sizeof(cqe))) {
        case BC_DMA_OK:
            break;
        case BC_DMA_FAILED:
            g_queue_push_head(&bq->done, d);
            bc_fatal(s, "completion ring not writable");
            return;
        case BC_DMA_RESET:
            g_free(d);
            return;
        }
        g_free(d);
        if (++bq->cq_tail == bq->size) {
            bq->cq_tail = 0;
            bq->phase = !bq->phase;
        }
        bq->notify = true;
    }
}

/* ---- event queue ---- */

static bool bc_eq_live(BcchipState *s)
{
    return !s->unrealized &&
           (s->csts & BC_CSTS_RDY) && !(s->csts & BC_CSTS_CFS) &&
           (s->eq.eqctl & BC_EQCTL_ENABLE);
}

/* The ring is forgotten; the events not yet written wait in the backlog. */
static void bc_eq_drop(BcchipState *s)
{
    BcEventQueue *eq = &s->eq;

    s->gen++;
    eq->eqctl &= ~BC_EQCTL_ENABLE;
    eq->tail = eq->head = 0;
    eq->phase = true;
    eq->notify = false;
}

static bool bc_eq_start(BcchipState *s)
{
    BcEventQueue *eq = &s->eq;
    uint64_t base = ((uint64_t)eq->eqb_hi << 32) | eq->eqb_lo;
    uint32_t size = eq->eqsize & 0xffff;

    if (base % BC_RING_ALIGN || size < 2 || size > BC_MQES) {
        return false;
    }
    bc_eq_drop(s);
    eq->base = base;
    eq->size = size;
    eq->eqctl |= BC_EQCTL_ENABLE;
    return true;
}

static void bc_event_clear(GQueue *backlog)
{
    BcEvent *ev;

    while ((ev = g_queue_pop_head(backlog))) {
        g_free(ev);
    }
}

static void bc_event_push(BcEventQueue *eq, uint16_t type, uint64_t time,
                          uint64_t arg0, uint64_t arg1)
{
    BcEvent *ev = g_new(BcEvent, 1);

    ev->type = type;
    ev->time = time;
    ev->arg0 = arg0;
    ev->arg1 = arg1;
    g_queue_push_tail(&eq->backlog, ev);
}

/*
 * An event from the firmware.  The backlog is bounded so that a host that
 * never reads its ring costs a fixed amount of memory; what does not fit
 * is counted, and a LOST event takes the place of those events in order.
 */
static void bc_event_raise(BcchipState *s, uint16_t type, uint64_t time,
                           uint64_t arg0, uint64_t arg1)
{
    BcEventQueue *eq = &s->eq;

    /* the LOST entry owed counts against the backlog too */
    if (g_queue_get_length(&eq->backlog) + (eq->lost ? 1 : 0) >=
        BC_EV_BACKLOG) {
        eq->lost++;
        eq->lost_time = time;
        return;
    }
    if (eq->lost) {
        bc_event_push(eq, BC_EV_LOST, eq->lost_time, eq->lost, 0);
        eq->lost = 0;
    }
    bc_event_push(eq, type, time, arg0, arg1);
    bc_schedule(s);
}

/* Writes backlogged events while the ring has room. */
static void bc_post_events(BcchipState *s)
{
    BcEventQueue *eq = &s->eq;

    while (bc_eq_live(s)) {
        uint8_t e[BC_EVE_SIZE] = { 0 };
        BcEvent *ev = g_queue_peek_head(&eq->backlog);
        BcEvent lost;

        if ((eq->tail + 1) % eq->size == eq->head) {
            return; /* full: wait for EQHDBL */
        }
        if (!ev) {
            if (!eq->lost) {
                return;
            }
            lost.type = BC_EV_LOST;
            lost.time = eq->lost_time;
            lost.arg0 = eq->lost;
            lost.arg1 = 0;
            ev = &lost;
        }
        stw_le_p(e + 0, eq->phase ? 1 : 0);
        stw_le_p(e + 2, ev->type);
        stl_le_p(e + 4, eq->seq + 1);
        stq_le_p(e + 8, ev->time);
        stq_le_p(e + 16, ev->arg0);
        stq_le_p(e + 24, ev->arg1);
        switch (bc_dma_write(s, eq->base + (uint64_t)eq->tail * BC_EVE_SIZE,
                             e, sizeof(e))) {
        case BC_DMA_OK:
            break;
        case BC_DMA_FAILED:
            bc_fatal(s, "event ring not writable");
            return;
        case BC_DMA_RESET:
            /*
             * The ring went away under the write: the event is still
             * the chip's to deliver, with the same SEQ, once the host
             * enables a ring again (the backlog survives resets).
             */
            return;
        }
        eq->seq++;
        if (ev == &lost) {
            eq->lost = 0;
        } else {
            g_free(g_queue_pop_head(&eq->backlog));
        }
        if (++eq->tail == eq->size) {
            eq->tail = 0;
            eq->phase = !eq->phase;
        }
        eq->notify = true;
    }
}

/* ---- queues ---- */

/* g_queue_clear_full() needs a newer GLib than QEMU 7.2 allows. */
static void bc_done_clear(GQueue *done)
{
    BcDone *d;

    while ((d = g_queue_pop_head(done))) {
        g_free(d);
    }
}

/* The firmware's answer for this command, if any comes, will be ignored. */
static void bc_cmd_forget(BcchipState *s, BcCmd *cmd)
{
    g_hash_table_remove(s->tags, GUINT_TO_POINTER(cmd->tag));
    g_hash_table_remove(s->q[cmd->q].inflight, GUINT_TO_POINTER(cmd->cid));
}

static void bc_forget_all(BcchipState *s, unsigned q, uint16_t status)
{
    GHashTableIter it;
    gpointer key, val;

    g_hash_table_iter_init(&it, s->q[q].inflight);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        BcCmd *cmd = val;

        if (status) {
            bc_complete(s, q, cmd->cid, status, 0);
        }
        g_hash_table_remove(s->tags, GUINT_TO_POINTER(cmd->tag));
        g_hash_table_iter_remove(&it);
    }
}

/* Forgets every command of the queue: late responses will not match. */
static void bc_queue_drop(BcchipState *s, unsigned q)
{
    BcQueue *bq = &s->q[q];

    s->gen++;
    bc_forget_all(s, q, 0);
    bc_done_clear(&bq->done);
    g_hash_table_remove_all(bq->aborts);
    bq->fetched = 0;
    bq->has_last = false;
    bq->qctl &= ~BC_QCTL_ENABLE;
    bq->sq_tail = bq->sq_head = bq->cq_tail = bq->cq_head = 0;
    bq->phase = true;
    bq->notify = false;
}

static bool bc_queue_start(BcchipState *s, unsigned q)
{
    BcQueue *bq = &s->q[q];
    uint64_t sqb = ((uint64_t)bq->sqb_hi << 32) | bq->sqb_lo;
    uint64_t cqb = ((uint64_t)bq->cqb_hi << 32) | bq->cqb_lo;
    uint32_t size = bq->qsize & 0xffff;

    if ((sqb | cqb) % BC_RING_ALIGN || size < 2 || size > BC_MQES) {
        return false;
    }
    bc_queue_drop(s, q);
    bq->sqb = sqb;
    bq->cqb = cqb;
    bq->size = size;
    bq->qctl |= BC_QCTL_ENABLE;
    return true;
}

/*
 * CC.EN = 0, FLR and device reset: every queue is dropped with its
 * commands, the firmware is told to forget this device's clients.
 */
static void bc_disable(BcchipState *s)
{
    unsigned q;

    for (q = 0; q < BC_NQ; q++) {
        bc_queue_drop(s, q);
    }
    bc_eq_drop(s);
    s->cc &= ~BC_CC_EN;
    s->csts &= ~(BC_CSTS_RDY | BC_CSTS_CFS);
    /* the host is starting over: a new firmware is no news to it */
    s->fw_lost = false;
    /*
     * While the emulator is not reading, a guest toggling CC.EN would
     * otherwise queue RESETs without bound; one still waiting suffices.
     */
    if (s->connected && !s->tx_ends_in_reset) {
        bc_tx_envelope(s, BCEM_RESET, 0, 0, NULL, 0);
        bc_schedule(s);
    }
}

static void bc_enable(BcchipState *s)
{
    s->cc |= BC_CC_EN;
    if (s->q[0].qctl & BC_QCTL_ENABLE) {
        s->csts |= BC_CSTS_RDY;
        bc_schedule(s);
    } else {
        bc_fatal(s, "enabled without an admin queue");
    }
}

/* ---- command submission (bottom half) ---- */

/*
 * Whether the host aborted this entry (fetch number `n` of its queue)
 * before the device fetched it.  A record covers the entries published
 * when the ABORT came; one the device fetches past expires unused.
 */
static bool bc_abort_take(BcQueue *bq, uint16_t cid, uint32_t n)
{
    gpointer until;

    if (!g_hash_table_lookup_extended(bq->aborts, GUINT_TO_POINTER(cid),
                                      NULL, &until)) {
        return false;
    }
    g_hash_table_remove(bq->aborts, GUINT_TO_POINTER(cid));
    return (int32_t)(GPOINTER_TO_UINT(until) - n) > 0;
}

static void bc_submit_one(BcchipState *s, unsigned q, const uint8_t *sqe,
                          uint32_t n)
{
    BcQueue *bq = &s->q[q];
    uint16_t cid = lduw_le_p(sqe + 0);
    uint16_t flags = lduw_le_p(sqe + 2);
    uint32_t client = ldl_le_p(sqe + 4);
    uint64_t req_addr = ldq_le_p(sqe + 8);
    uint64_t resp_addr = ldq_le_p(sqe + 16);
    uint32_t req_len = ldl_le_p(sqe + 24);
    uint32_t resp_cap = ldl_le_p(sqe + 28);
    BcCmd *cmd;
    unsigned i;
    bool rsvd = flags != 0;

    if (bc_abort_take(bq, cid, n)) {
        /* the host has given up on it: the firmware never sees it */
        bc_complete(s, q, cid, BC_DS_ABORTED, 0);
        return;
    }
    for (i = 32; i < BC_SQE_SIZE; i++) {
        rsvd |= sqe[i] != 0;
    }
    if (rsvd || req_len < BC_MINFRAME || req_len > BC_MAXFRAME ||
        resp_cap < BC_MINFRAME || resp_cap > BC_MAXFRAME ||
        g_hash_table_contains(bq->inflight, GUINT_TO_POINTER(cid))) {
        bc_complete(s, q, cid, BC_DS_INVALID, 0);
        return;
    }
    if (!s->connected) {
        bc_complete(s, q, cid, BC_DS_FW_UNAVAILABLE, 0);
        return;
    }
    switch (bc_dma_read(s, req_addr, s->frame, req_len)) {
    case BC_DMA_OK:
        break;
    case BC_DMA_FAILED:
        bc_complete(s, q, cid, BC_DS_DMA_ERROR, 0);
        return;
    case BC_DMA_RESET:
        /* dropped with its queue: the firmware must not see it after RESET */
        return;
    }
    do {
        s->next_tag++;
    } while (!s->next_tag ||
             g_hash_table_contains(s->tags, GUINT_TO_POINTER(s->next_tag)));
    cmd = g_new(BcCmd, 1);
    cmd->cid = cid;
    cmd->q = q;
    cmd->tag = s->next_tag;
    cmd->resp_addr = resp_addr;
    cmd->resp_cap = resp_cap;
    g_hash_table_insert(bq->inflight, GUINT_TO_POINTER(cid), cmd);
    g_hash_table_insert(s->tags, GUINT_TO_POINTER(cmd->tag), cmd);
    bc_tx_envelope(s, BCEM_REQUEST, client, cmd->tag, s->frame, req_len);
}

static void bc_fetch(BcchipState *s, unsigned q)
{
    BcQueue *bq = &s->q[q];

    while (bc_queue_live(s, q) && bq->sq_head != bq->sq_tail &&
           bc_tx_pending(s) < BC_TX_HIGH) {
        uint8_t sqe[BC_SQE_SIZE];

        /*
         * Each command fetched owes a completion; holding no more than the
         * CQ can take bounds what a host that never reads its CQ costs.
         */
        if (g_hash_table_size(bq->inflight) + g_queue_get_length(&bq->done)
            >= bq->size - 1) {
            return;
        }
        switch (bc_dma_read(s, bq->sqb + (uint64_t)bq->sq_head * BC_SQE_SIZE,
                            sqe, sizeof(sqe))) {
        case BC_DMA_OK:
            break;
        case BC_DMA_FAILED:
            bc_fatal(s, "submission ring not readable");
            return;
        case BC_DMA_RESET:
            return; /* the SQ head went back to 0 with the queue */
        }
        bq->sq_head = (bq->sq_head + 1) % bq->size;
        bc_submit_one(s, q, sqe, bq->fetched++);
    }
}

static void bc_unref(void *opaque)
{
    object_unref(OBJECT(opaque));
}

/*
 * Every DMA and interrupt below may reset the device (each function
 * re-checks for that itself) or unplug it, after which only `unrealized`
 * may be looked at.
 */
static void bc_bh_pass(BcchipState *s)
{
    unsigned q;

    if (s->rx_broken && s->connected) {
        /* Reports CHR_EVENT_CLOSED, which fails the commands in flight. */
        qemu_chr_fe_disconnect(&s->chr);
    }
    for (q = 0; q < BC_NQ; q++) {
        bc_fetch(s, q);
        if (s->unrealized) {
            return;
        }
    }
    bc_tx_flush(s);
    for (q = 0; q < BC_NQ; q++) {
        bc_post_completions(s, q);
        if (s->q[q].notify) {
            s->q[q].notify = false;
            bc_notify(s, q);
        }
        if (s->unrealized) {
            return;
        }
    }
    bc_post_events(s);
    if (s->eq.notify) {
        s->eq.notify = false;
        bc_notify(s, BC_EQ_VECTOR);
    }
}

static void bc_bh(void *opaque)
{
    BcchipState *s = opaque;

    /* unplugged by our own DMA, the device must outlive this call */
    object_ref(OBJECT(s));
    bc_bh_pass(s);
    if (s->unrealized) {
        /* the BH's caller still writes to our re-entrancy guard */
        aio_bh_schedule_oneshot(qemu_get_aio_context(), bc_unref, s);
    } else {
        object_unref(OBJECT(s));
    }
}

/* ---- socket receive ---- */

static void bc_rx_reset(BcchipState *s)
{
    g_free(s->rx_payload);
    s->rx_payload = NULL;
    s->rx_hdr_got = 0;
    s->rx_len = 0;
    s->rx_got = 0;
    s->rx_broken = false;
}

static void bc_rx_malformed(BcchipState *s, const char *why)
{
    warn_report("bcchip: malformed message from the emulator (%s); "
                "disconnecting", why);
    s->rx_broken = true;
    bc_schedule(s);
}

static void bc_rx_response(BcchipState *s, uint16_t status, uint32_t tag,
                           const uint8_t *payload, uint32_t len)
{
    BcCmd *cmd = g_hash_table_lookup(s->tags, GUINT_TO_POINTER(tag));
    unsigned q;
    uint16_t cid, ds;
    uint32_t resp_len = 0;

    if (!cmd) {
        return; /* for a command dropped by a reset or an abort */
    }
    q = cmd->q;
    cid = cmd->cid;
    if (status != 0 || len < BC_MINFRAME) {
        /* The firmware could not treat the request as a frame at all. */
        ds = BC_DS_INVALID;
    } else if (len > cmd->resp_cap) {
        ds = BC_DS_OVERFLOW;
        resp_len = len;
    } else {
        uint32_t resp_cap = cmd->resp_cap;

        switch (bc_dma_write(s, cmd->resp_addr, payload, len)) {
        case BC_DMA_OK:
            ds = BC_DS_SUCCESS;
            resp_len = len;
            if (s->fault == BC_FAULT_BADLEN) {
                resp_len = resp_cap + 1;
            }
            break;
        case BC_DMA_FAILED:
            ds = BC_DS_DMA_ERROR;
            break;
        default:
            return; /* reset meanwhile: `cmd` is gone with its queue */
        }
        /*
         * Register writes are ignored during our own DMA, but check that
         * the command is still there rather than rely on it.
         */
        if (g_hash_table_lookup(s->tags, GUINT_TO_POINTER(tag)) != cmd) {
            return;
        }
    }
    if (ds == BC_DS_OVERFLOW && s->fault == BC_FAULT_BADLEN) {
        resp_len = MAX(resp_len, BC_MAXFRAME + 1);
    }
    bc_cmd_forget(s, cmd);
    bc_complete(s, q, cid, ds, resp_len);
}

static void bc_rx_message(BcchipState *s)
{
    uint16_t type = lduw_le_p(s->rx_hdr + 4);
    uint16_t status = lduw_le_p(s->rx_hdr + 6);
    uint32_t tag = ldl_le_p(s->rx_hdr + 12);

    if (type == BCEM_RESPONSE) {
        bc_rx_response(s, status, tag, s->rx_payload, s->rx_len);
    } else if (type == BCEM_EVENT) {
        uint16_t ev = lduw_le_p(s->rx_payload + 2);

        /* LOST is the device's own word; type 0 is no event at all */
        if (ev == 0 || ev == BC_EV_LOST) {
            bc_rx_malformed(s, "event of a type the firmware may not raise");
            return;
        }
        /* STATUS and SEQ are the device's to fill in */
        bc_event_raise(s, ev,
                       ldq_le_p(s->rx_payload + 8),
                       ldq_le_p(s->rx_payload + 16),
                       ldq_le_p(s->rx_payload + 24));
    }
    /* RESET_DONE is informational: RDY does not wait for it. */
}

static bool bc_rx_header(BcchipState *s)
{
    uint32_t magic = ldl_le_p(s->rx_hdr + 0);
    uint16_t type = lduw_le_p(s->rx_hdr + 4);
    uint32_t len = ldl_le_p(s->rx_hdr + 16);

    if (magic != BCEM_MAGIC) {
        bc_rx_malformed(s, "bad magic");
        return false;
    }
    if (type != BCEM_RESPONSE && type != BCEM_RESET_DONE &&
        type != BCEM_EVENT) {
        bc_rx_malformed(s, "unexpected type");
        return false;
    }
    if (type == BCEM_EVENT && len != BC_EVE_SIZE) {
        bc_rx_malformed(s, "event of the wrong size");
        return false;
    }
    if (len > BCEM_MAX_PAYLOAD) {
        bc_rx_malformed(s, "payload too long");
        return false;
    }
    s->rx_len = len;
    s->rx_got = 0;
    s->rx_payload = len ? g_malloc(len) : NULL;
    return true;
}

static int bc_chr_can_read(void *opaque)
{
    BcchipState *s = opaque;

    if (s->rx_broken) {
        return 0;
    }
    if (s->rx_hdr_got < BCEM_HDR_SIZE) {
        return BCEM_HDR_SIZE - s->rx_hdr_got;
    }
    return s->rx_len - s->rx_got;
}

static void bc_chr_read(void *opaque, const uint8_t *buf, int size)
{
    BcchipState *s = opaque;
    uint32_t n;

    /* a response written by DMA may unplug us: see bc_bh */
    object_ref(OBJECT(s));
    while (size > 0 && !s->rx_broken && !s->unrealized) {
        if (s->rx_hdr_got < BCEM_HDR_SIZE) {
            n = MIN((uint32_t)size, BCEM_HDR_SIZE - s->rx_hdr_got);
            memcpy(s->rx_hdr + s->rx_hdr_got, buf, n);
            s->rx_hdr_got += n;
            buf += n;
            size -= n;
            if (s->rx_hdr_got < BCEM_HDR_SIZE || !bc_rx_header(s)) {
                continue;
            }
        } else {
            n = MIN((uint32_t)size, s->rx_len - s->rx_got);
            memcpy(s->rx_payload + s->rx_got, buf, n);
            s->rx_got += n;
            buf += n;
            size -= n;
        }
        if (s->rx_got == s->rx_len) {
            bc_rx_message(s);
            if (s->unrealized) {
                break;
            }
            g_free(s->rx_payload);
            s->rx_payload = NULL;
            s->rx_hdr_got = 0;
            s->rx_len = 0;
            s->rx_got = 0;
        }
    }
    object_unref(OBJECT(s));
}

/* The firmware went away: nothing in flight will ever be answered. */
static void bc_fail_inflight(BcchipState *s)
{
    unsigned q;

    for (q = 0; q < BC_NQ; q++) {
        bc_forget_all(s, q, BC_DS_FW_UNAVAILABLE);
    }
}

static void bc_chr_event(void *opaque, QEMUChrEvent event)
{
    BcchipState *s = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        bc_rx_reset(s);
        bc_tx_clear(s);
        s->connected = true;
        /* every new connection: a restarted emulator knows nothing of us */
        bc_tx_envelope(s, BCEM_SUBSCRIBE, 0, 0, NULL, 0);
        /*
         * A new firmware behind a chip that stayed enabled has none of
         * the host's clients, sessions or logins: as on a real chip whose
         * firmware restarted, ask the host for a reset, so that it moves
         * to a new generation instead of trusting state that is gone.
         */
        if (s->fw_lost) {
            s->fw_lost = false;
            bc_fatal(s, "firmware restarted");
        }
        bc_schedule(s);
        break;
    case CHR_EVENT_CLOSED:
        if (s->cc & BC_CC_EN) {
            s->fw_lost = true;
        }
        s->connected = false;
        bc_rx_reset(s);
        bc_tx_clear(s);
        bc_fail_inflight(s);
        bc_schedule(s);
        break;
    default:
        break;
    }
}

/* ---- registers ---- */

static uint64_t bc_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    BcchipState *s = opaque;

    switch (addr) {
    case BC_REG_MAGIC:
        return BC_MAGIC;
    case BC_REG_VERSION:
        return BC_VERSION;
    case BC_REG_CAP0:
        return BC_CAP0;
    case BC_REG_CAP1:
        return BC_MAXFRAME;
    case BC_REG_CAP2:
        return BC_NVEC;
    case BC_REG_CC:
        return s->cc;
    case BC_REG_CSTS:
        return s->csts | (s->connected ? BC_CSTS_FWLINK : 0);
    case BC_REG_EQB_LO:
        return s->eq.eqb_lo;
    case BC_REG_EQB_HI:
        return s->eq.eqb_hi;
    case BC_REG_EQSIZE:
        return s->eq.eqsize;
    case BC_REG_EQCTL:
        return s->eq.eqctl;
    }
    if (BC_IS_QREG(addr)) {
        BcQueue *bq = &s->q[(addr - BC_REG_Q_BASE) / BC_REG_Q_STRIDE];

        switch ((addr - BC_REG_Q_BASE) % BC_REG_Q_STRIDE) {
        case BC_Q_SQB_LO:
            return bq->sqb_lo;
        case BC_Q_SQB_HI:
            return bq->sqb_hi;
        case BC_Q_CQB_LO:
            return bq->cqb_lo;
        case BC_Q_CQB_HI:
            return bq->cqb_hi;
        case BC_Q_SIZE:
            return bq->qsize;
        case BC_Q_CTL:
            return bq->qctl;
        }
    }
    return 0;
}

static void bc_write_queue_reg(BcchipState *s, unsigned q, unsigned reg,
                               uint32_t val)
{
    BcQueue *bq = &s->q[q];

    if (reg == BC_Q_CTL) {
        bool was = bq->qctl & BC_QCTL_ENABLE;

        if ((val & BC_QCTL_ENABLE) && !was) {
            if (!bc_queue_start(s, q)) {
                bc_fatal(s, "queue enabled with a bad base or size");
                return;
            }
            bc_schedule(s);
        } else if (!(val & BC_QCTL_ENABLE) && was) {
            bc_queue_drop(s, q);
        }
        return;
    }
    if (bq->qctl & BC_QCTL_ENABLE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "bcchip: queue %u register written while enabled\n", q);
        return;
    }
    switch (reg) {
    case BC_Q_SQB_LO:
        bq->sqb_lo = val;
        break;
    case BC_Q_SQB_HI:
        bq->sqb_hi = val;
        break;
    case BC_Q_CQB_LO:
        bq->cqb_lo = val;
        break;
    case BC_Q_CQB_HI:
        bq->cqb_hi = val;
        break;
    case BC_Q_SIZE:
        bq->qsize = val & 0xffff;
        break;
    }
}

static void bc_write_doorbell(BcchipState *s, unsigned q, bool cq,
                              uint32_t val)
{
    BcQueue *bq = &s->q[q];

    if (!bc_queue_live(s, q)) {
        return;
    }
    if (val >= bq->size) {
        bc_fatal(s, "doorbell beyond the ring");
        return;
    }
    if (cq) {
        /* The new head may only pass completions the device has written. */
        uint32_t used = (bq->cq_tail + bq->size - bq->cq_head) % bq->size;
        uint32_t adv = (val + bq->size - bq->cq_head) % bq->size;

        if (adv > used) {
            bc_fatal(s, "completion head beyond the tail");
            return;
        }
        bq->cq_head = val;
    } else {
        bq->sq_tail = val;
    }
    bc_schedule(s);
}

static void bc_write_eq_reg(BcchipState *s, hwaddr addr, uint32_t val)
{
    BcEventQueue *eq = &s->eq;

    if (addr == BC_REG_EQCTL) {
        bool was = eq->eqctl & BC_EQCTL_ENABLE;

        if ((val & BC_EQCTL_ENABLE) && !was) {
            if (!bc_eq_start(s)) {
                bc_fatal(s, "event queue enabled with a bad base or size");
                return;
            }
            bc_schedule(s);
        } else if (!(val & BC_EQCTL_ENABLE) && was) {
            bc_eq_drop(s);
        }
        return;
    }
    if (eq->eqctl & BC_EQCTL_ENABLE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "bcchip: event queue register written while enabled\n");
        return;
    }
    switch (addr) {
    case BC_REG_EQB_LO:
        eq->eqb_lo = val;
        break;
    case BC_REG_EQB_HI:
        eq->eqb_hi = val;
        break;
    case BC_REG_EQSIZE:
        eq->eqsize = val & 0xffff;
        break;
    }
}

static void bc_write_eq_doorbell(BcchipState *s, uint32_t val)
{
    BcEventQueue *eq = &s->eq;
    uint32_t used, adv;

    if (!bc_eq_live(s)) {
        return;
    }
    if (val >= eq->size) {
        bc_fatal(s, "event doorbell beyond the ring");
        return;
    }
    /* The new head may only pass events the device has written. */
    used = (eq->tail + eq->size - eq->head) % eq->size;
    adv = (val + eq->size - eq->head) % eq->size;
    if (adv > used) {
        bc_fatal(s, "event head beyond the tail");
        return;
    }
    eq->head = val;
    bc_schedule(s);
}

static bool bc_done_has(BcQueue *bq, uint16_t cid)
{
    GList *l;

    for (l = bq->done.head; l; l = l->next) {
        if (((BcDone *)l->data)->cid == cid) {
            return true;
        }
    }
    return false;
}

static gboolean bc_abort_expired(gpointer key, gpointer until, gpointer opaque)
{
    BcQueue *bq = opaque;

    return (int32_t)(GPOINTER_TO_UINT(until) - bq->fetched) <= 0;
}

/*
 * The host gave up on a command (a timeout).  In flight: complete it now
 * with ABORTED; the firmware may still be running it, its answer will
 * find no tag.  Published but not fetched yet: remember the CID, and
 * complete the entry with ABORTED when it is fetched (bc_abort_take).
 */
static void bc_abort(BcchipState *s, unsigned q, uint16_t cid)
{
    BcQueue *bq;
    BcCmd *cmd;
    uint32_t unfetched;

    if (q >= BC_NQ || !bc_queue_live(s, q)) {
        return;
    }
    bq = &s->q[q];
    cmd = g_hash_table_lookup(bq->inflight, GUINT_TO_POINTER(cid));
    if (cmd) {
        bc_cmd_forget(s, cmd);
        bc_complete(s, q, cid, BC_DS_ABORTED, 0);
        return;
    }
    unfetched = (bq->sq_tail + bq->size - bq->sq_head) % bq->size;
    /* an answer already in keeps its status */
    if (!unfetched || bc_done_has(bq, cid)) {
        return;
    }
    /*
     * At most QSIZE - 1 entries wait in the ring, so a host that needs
     * more records than that is aborting CIDs it never published.
     */
    g_hash_table_foreach_remove(bq->aborts, bc_abort_expired, bq);
    if (g_hash_table_size(bq->aborts) >= bq->size - 1 &&
        !g_hash_table_contains(bq->aborts, GUINT_TO_POINTER(cid))) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "bcchip: queue %u: too many aborts pending\n", q);
        return;
    }
    g_hash_table_insert(bq->aborts, GUINT_TO_POINTER(cid),
                        GUINT_TO_POINTER(bq->fetched + unfetched));
}

static void bc_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                          unsigned size)
{
    BcchipState *s = opaque;

    if (s->busy) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "bcchip: device DMA reached its own registers\n");
        return;
    }
    if (addr == BC_REG_CC) {
        if (val & BC_CC_EN) {
            if (!(s->cc & BC_CC_EN)) {
                bc_enable(s);
            }
        } else {
            bc_disable(s);
        }
        return;
    }
    if (addr == BC_REG_ABORT) {
        bc_abort(s, val >> 16, val & 0xffff);
        return;
    }
    if (addr >= BC_REG_EQB_LO && addr <= BC_REG_EQCTL) {
        bc_write_eq_reg(s, addr, val);
        return;
    }
    if (addr == BC_REG_EQHDBL) {
        bc_write_eq_doorbell(s, val);
        return;
    }
    if (BC_IS_QREG(addr)) {
        bc_write_queue_reg(s, (addr - BC_REG_Q_BASE) / BC_REG_Q_STRIDE,
                           (addr - BC_REG_Q_BASE) % BC_REG_Q_STRIDE, val);
        return;
    }
    if (addr >= BC_REG_DB_BASE &&
        addr < BC_REG_DB_BASE + BC_NQ * BC_REG_DB_STRIDE) {
        bc_write_doorbell(s, (addr - BC_REG_DB_BASE) / BC_REG_DB_STRIDE,
                          (addr - BC_REG_DB_BASE) % BC_REG_DB_STRIDE != 0,
                          val);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "bcchip: write to 0x%" HWADDR_PRIx
                  " ignored\n", addr);
}

static const MemoryRegionOps bc_mmio_ops = {
    .read = bc_mmio_read,
    .write = bc_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ---- qdev ---- */

static void bc_reset(DeviceState *dev)
{
    BcchipState *s = BCCHIP(dev);
    unsigned q;

    bc_disable(s);
    for (q = 0; q < BC_NQ; q++) {
        BcQueue *bq = &s->q[q];

        bq->sqb_lo = bq->sqb_hi = bq->cqb_lo = bq->cqb_hi = 0;
        bq->qsize = 0;
        bq->qctl = 0;
    }
    s->eq.eqb_lo = s->eq.eqb_hi = s->eq.eqsize = s->eq.eqctl = 0;
    s->cc = 0;
    s->csts = 0;
}

static void bc_config_write(PCIDevice *pdev, uint32_t addr, uint32_t val,
                            int len)
{
    BcchipState *s = BCCHIP(pdev);

    pci_default_write_config(pdev, addr, val, len);
    if (pdev->exp.exp_cap) {
        uint8_t *devctl = pdev->config + pdev->exp.exp_cap + PCI_EXP_DEVCTL;

        /*
         * Written by our own DMA or MSI-X message: the reset waits until
         * the transfer is over (bc_busy_end).
         */
        if (s->busy &&
            pci_word_test_and_clear_mask(devctl, PCI_EXP_DEVCTL_BCR_FLR)) {
            s->flr_pending = true;
        }
        pcie_cap_flr_write_config(pdev, addr, val, len);
    }
    if (pdev->exp.aer_cap) {
        pcie_aer_write_config(pdev, addr, val, len);
    }
}

static void bc_realize(PCIDevice *pdev, Error **errp)
{
    BcchipState *s = BCCHIP(pdev);
    unsigned q, v;

    pci_config_set_interrupt_pin(pdev->config, 0);

    memory_region_init_io(&s->mmio, OBJECT(s), &bc_mmio_ops, s,
                          "bcchip-regs", BC_BAR0_SIZE);
    pci_register_bar(pdev, BC_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);

    if (pci_is_express(pdev)) {
        if (pcie_endpoint_cap_init(pdev, 0x80) < 0) {
            error_setg(errp, "bcchip: cannot add the PCIe capability");
            return;
        }
        pcie_cap_flr_init(pdev);
        /* error reporting enables, and AER: errors can be injected (HMP) */
        pcie_cap_deverr_init(pdev);
        if (pcie_aer_init(pdev, PCI_ERR_VER, 0x100, PCI_ERR_SIZEOF,
                          errp) < 0) {
            return;
        }
    }
    if (msix_init_exclusive_bar(pdev, BC_NVEC, BC_BAR_MSIX, errp)) {
        return;
    }
    for (v = 0; v < BC_NVEC; v++) {
        msix_vector_use(pdev, v);
    }

    s->bh = qemu_bh_new_guarded(bc_bh, s, &DEVICE(pdev)->mem_reentrancy_guard);
    s->tx = g_byte_array_new();
    s->frame = g_malloc(BC_MAXFRAME);
    s->tags = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (q = 0; q < BC_NQ; q++) {
        s->q[q].inflight = g_hash_table_new_full(g_direct_hash,
                                                 g_direct_equal, NULL, g_free);
        g_queue_init(&s->q[q].done);
        s->q[q].aborts = g_hash_table_new(g_direct_hash, g_direct_equal);
        s->q[q].phase = true;
    }
    g_queue_init(&s->eq.backlog);
    s->eq.phase = true;

    if (qemu_chr_fe_backend_connected(&s->chr)) {
        qemu_chr_fe_set_handlers(&s->chr, bc_chr_can_read, bc_chr_read,
                                 bc_chr_event, NULL, s, NULL, true);
        /* A client socket may be connected before the handlers are set. */
        if (qemu_chr_fe_backend_open(&s->chr) && !s->connected) {
            bc_chr_event(s, CHR_EVENT_OPENED);
        }
    }
}

/*
 * This may run inside our own DMA (a guest powering off our slot through
 * MMCFG): so it only detaches the device, and the memory that DMA may
 * still be using (buffers, queues) is freed by bc_finalize, after the
 * reference bc_bh or bc_chr_read holds is dropped.
 */
static void bc_exit(PCIDevice *pdev)
{
    BcchipState *s = BCCHIP(pdev);

    s->unrealized = true;
    s->gen++;
    s->connected = false;
    if (pdev->exp.aer_cap) {
        pcie_aer_exit(pdev);
    }
    qemu_chr_fe_deinit(&s->chr, false);
    bc_tx_clear(s);
    qemu_bh_delete(s->bh);
    s->bh = NULL;
    msix_unuse_all_vectors(pdev);
    msix_uninit_exclusive_bar(pdev);
}

static void bc_finalize(Object *obj)
{
    BcchipState *s = BCCHIP(obj);
    unsigned q;

    if (!s->tags) {
        return; /* never realized */
    }
    bc_rx_reset(s);
    for (q = 0; q < BC_NQ; q++) {
        bc_done_clear(&s->q[q].done);
        bc_forget_all(s, q, 0);
        g_hash_table_destroy(s->q[q].inflight);
        g_hash_table_destroy(s->q[q].aborts);
    }
    bc_event_clear(&s->eq.backlog);
    g_hash_table_destroy(s->tags);
    g_byte_array_free(s->tx, TRUE);
    g_free(s->frame);
}

/* Commands in flight live in the emulator: migrating them is not modelled. */
static const VMStateDescription bc_vmstate = {
    .name = TYPE_BCCHIP,
    .unmigratable = 1,
};

static char *bc_get_fault(Object *obj, Error **errp)
{
    return g_strdup(bc_fault_names[BCCHIP(obj)->fault]);
}

/* Test only; settable at any time (QMP qom-set) and takes effect at once. */
static void bc_set_fault(Object *obj, const char *value, Error **errp)
{
    unsigned i;

    for (i = 0; i < BC_FAULT__MAX; i++) {
        if (!strcmp(value, bc_fault_names[i])) {
            BCCHIP(obj)->fault = i;
            return;
        }
    }
    error_setg(errp, "x-fault: '%s' is not off, dup, late, badcid or badlen",
               value);
}

static Property bc_properties[] = {
    DEFINE_PROP_CHR("chardev", BcchipState, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void bc_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = bc_realize;
    k->exit = bc_exit;
    k->config_write = bc_config_write;
    k->vendor_id = BC_PCI_VENDOR;
    k->device_id = BC_PCI_DEVICE;
    k->class_id = BC_PCI_CLASS;
    k->revision = BC_PCI_REVISION;
    dc->desc = "Bastionchip hardware security module";
    dc->reset = bc_reset;
    dc->vmsd = &bc_vmstate;
    device_class_set_props(dc, bc_properties);
    object_class_property_add_str(klass, "x-fault", bc_get_fault,
                                  bc_set_fault);
    object_class_property_set_description(klass, "x-fault",
        "test only: off, dup, late, badcid or badlen (docs/qemu.md)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo bc_info = {
    .name = TYPE_BCCHIP,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(BcchipState),
    .instance_finalize = bc_finalize,
    .class_init = bc_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void bc_register_types(void)
{
    type_register_static(&bc_info);
}

type_init(bc_register_types)
