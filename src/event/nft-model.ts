/**
 * Bodies of nf_tables messages (NETLINK_NETFILTER, subsystem NFTABLES): the ruleset changes that
 * `nft monitor` reports, and the replies of a ruleset dump, which have the same layout.
 *
 * Keys are the ones `nft -j monitor` prints where it has them (family, table, chain, name, handle,
 * type, hook, prio, policy, dev, flags, elem), so a body reads beside nft's line for the same
 * change. Where nft prints a value through its own type information, which the kernel never sees
 * (an element's key as an address, a rule as its source text), the body keeps what the kernel
 * sent: bytes as lower-case hex, with a number beside them when they fit in 32 bits.
 *
 * 64-bit values (handles, counters, timeouts) are numbers while exact and decimal strings beyond
 * 2^53, as everywhere in nlmon. Times are milliseconds, as the kernel sends them (nft prints seconds).
 */

/**
 * The word `nft monitor` starts its line with, read from the message type and its NLM_F_* flags as
 * nft does: a DEL* message is "delete"; a NEWRULE without NLM_F_APPEND is "insert" (placed before
 * its position rather than after it); any other NEW* with NLM_F_EXCL is "create" (nft create: the
 * object must not exist); every other NEW* is "add". An update of an existing table, chain or set
 * (a table made dormant, a base chain's new policy) comes as NEW* with the request's flags and so
 * also reads "add": neither the kernel nor nft tells it apart from a creation.
 */
export type NftAction = "add" | "create" | "insert" | "delete";

/** What changed: nft's object words, "obj" standing for every stateful object type (counter, quota, ...). */
export type NftObjectKind = "table" | "chain" | "rule" | "set" | "element" | "gen" | "obj" | "flowtable";

/** A verdict (nft_data of type NFT_DATA_VERDICT): accept/drop/... or jump/goto with their chain. */
export interface NftVerdictFields {
  /** NF_* and NFT_* verdict names without prefix, lower case ("accept", "jump"); the number when unnamed */
  verdict?: string | number;
  /** target of jump and goto */
  chain?: string;
  /** NFTA_VERDICT_CHAIN_ID: a chain added in the same transaction, by id */
  chain_id?: number;
}

/**
 * One expression of a rule or a set element: `name` as the kernel registers it ("payload", "cmp",
 * ...) and the fields of its NFTA_<NAME>_* attributes. Registers are numbers (NFT_REG_*: 0 is the
 * verdict register, 1-4 the 128-bit ones, 8-23 the 32-bit ones). Enumerations nlmon has names for
 * are words; the rest are numbers. An expression nlmon does not decode keeps its data as hex.
 */
export interface NftExpr extends NftVerdictFields {
  name: string;
  sreg?: number;
  dreg?: number;
  /** meta, ct: NFT_META_* / NFT_CT_* without prefix ("mark", "iifname", "state") */
  key?: string | number;
  /** cmp, range: NFT_CMP_* without prefix ("eq", "neq", "lt", ...); range and bitwise ops as numbers */
  op?: string | number;
  /** cmp, immediate (a value, not a verdict), bitwise (NFTA_BITWISE_DATA): the bytes */
  data?: string;
  /**
   * `data` (cmp, immediate) as a number when it is 1 to 4 bytes long: in network byte order, except
   * after a meta or ct key the kernel loads in host byte order (mark, ct state, ...), where it is
   * read in this machine's order and `byteorder` says "host"
   */
  value?: number;
  byteorder?: "host";
  /** payload: NFT_PAYLOAD_*_HEADER as "ll", "network", "transport", "inner" */
  base?: string | number;
  offset?: number;
  len?: number;
  csum_type?: number;
  csum_offset?: number;
  csum_flags?: number;
  /** counter */
  packets?: number | string;
  bytes?: number | string;
  /** ct: IP_CT_DIR_* (0 original, 1 reply) */
  dir?: number;
  /** lookup: the set by name (or by id when added in the same transaction) */
  set?: string;
  set_id?: number;
  /** lookup ("inv"), nat/masq/redir (NF_NAT_RANGE_* bits), log, limit: flags */
  flags?: string[] | number;
  /** nat ("snat", "dnat"), reject ("icmp_unreach", "tcp_rst", "icmpx_unreach"), limit (number) */
  type?: string | number;
  /** nat: the address family it translates ("ip", "ip6") */
  family?: string | number;
  reg_addr_min?: number;
  reg_addr_max?: number;
  reg_proto_min?: number;
  reg_proto_max?: number;
  /** bitwise */
  mask?: string;
  xor?: string;
  /** range */
  from?: string;
  to?: string;
  /** log */
  group?: number;
  prefix?: string;
  snaplen?: number;
  qthreshold?: number;
  level?: number;
  /** limit: `rate` per `unit` seconds (packets, or bytes with the bytes type) */
  rate?: number | string;
  unit?: number | string;
  burst?: number;
  /** reject */
  icmp_code?: number;
  /** objref: the object's type (NFT_OBJECT_*) and name, or a map of objects and its key register */
  obj_type?: number;
  obj_name?: string;
  /** an expression whose attributes nlmon does not decode: NFTA_EXPR_DATA as hex */
  raw?: string;
}

/** One element of a NEWSETELEM / DELSETELEM message. */
export interface NftElem extends NftVerdictFields {
  /** the key's bytes as hex; `key_num` reads them in network byte order when they are 1 to 4 bytes */
  key?: string;
  key_num?: number;
  /** an interval's closing key (NFTA_SET_ELEM_KEY_END) */
  key_end?: string;
  key_end_num?: number;
  /** NFT_SET_ELEM_* without prefix: "interval_end", "catchall" */
  flags?: string[];
  timeout_ms?: number | string;
  /** time left before the element expires */
  expires_ms?: number | string;
  /** a map's value (when it is not a verdict): hex, and a network-order number up to 4 bytes */
  data?: string;
  data_num?: number;
  /** an object map's object name */
  objref?: string;
  userdata_len?: number;
  exprs?: NftExpr[];
}

export interface NftBody {
  /** absent for "gen", which is no change of its own but the end of a transaction */
  action?: NftAction;
  object: NftObjectKind;
  /** nfgenmsg's family as nft names it ("ip", "ip6", "inet", "arp", "bridge", "netdev"), "unspec" for gen */
  family?: string;
  family_num?: number;
  /** nfgenmsg's res_id: the generation of the transaction the message belongs to, low 16 bits */
  res_id?: number;
  /** the table the object is in; a table's own name is in `name` and here */
  table?: string;
  /** the object's name: table, chain, set (and the set of an element message), object, flowtable */
  name?: string;
  /** a rule's chain */
  chain?: string;
  handle?: number | string;
  /** tables, chains, sets: NFT_TABLE_F_*, NFT_CHAIN_*, NFT_SET_* words, lower case, without prefix; unknown bits (all of a flowtable's) as hex */
  flags?: string[];
  /** how many other objects refer to it (NFTA_*_USE) */
  use?: number;
  /** a table owned by a netlink socket (NFTA_TABLE_OWNER): that socket's port id */
  owner?: number;
  userdata_len?: number;

  /** base chain: hook as nft prints it ("input", "prerouting", "ingress"); hooknum always */
  hook?: string;
  hooknum?: number;
  prio?: number;
  /** base chain: "accept" or "drop" (NF_ACCEPT / NF_DROP); set: NFT_SET_POL_* as a number */
  policy?: string | number;
  /** base chain: "filter", "nat", "route" */
  type?: string;
  dev?: string;
  devs?: string[];
  /** a base chain's counters */
  packets?: number | string;
  bytes?: number | string;
  /** NFTA_CHAIN_ID, NFTA_RULE_ID, NFTA_SET_ID: ids within the transaction that made them; an element message's set by such an id */
  id?: number;

  /** rule: handle of the rule it was placed after (add) or before (insert) */
  position?: number | string;
  /** rule: position by the id of a rule added in the same transaction */
  position_id?: number;
  /** rule: the chain, by id, when it was added in the same transaction */
  chain_id?: number;
  exprs?: NftExpr[];
  /** rule: NFTA_RULE_COMPAT (the x_tables protocol and flags of nft-compat rules), as hex */
  compat?: string;

  /** set: key and data types are nft's own type numbers (the kernel only stores them), lengths in bytes */
  key_type?: number;
  key_len?: number;
  /** a map's data type: "verdict" for a verdict map (NFT_DATA_VERDICT), else nft's type number */
  data_type?: number | "verdict";
  data_len?: number;
  /** an object map's object type (NFT_OBJECT_*) */
  obj_type?: number;
  timeout_ms?: number | string;
  gc_interval_ms?: number;
  /** NFTA_SET_DESC (size and concatenation fields), as hex */
  desc?: string;
  /** set: the expressions every element gets (NFTA_SET_EXPR, NFTA_SET_EXPRESSIONS) */
  set_exprs?: NftExpr[];

  /** element message: the elements, one per message in notifications, many in dump replies */
  elem?: NftElem[];

  /** gen: the new generation, and the process whose transaction made it */
  gen_id?: number;
  pid?: number;
  proc_name?: string;

  /** obj: NFTA_OBJ_DATA and flowtable: NFTA_FLOWTABLE_HOOK, as hex (their attributes' numbers are not in nlmon's headers) */
  data?: string;
  hook_raw?: string;
}
