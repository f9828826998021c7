import Testing
@testable import LakeModel

/// The rule of files, as sessions of the mount daemon apply it to objects, cases and datasets.
@Suite struct AccountTests {
    let alice = Account(uid: 1001, gid: 1001, groups: [2000], name: "alice")
    let root = Account(uid: 0, gid: 0, groups: [], name: "root")

    @Test func readingFollowsOwnerThenGroupThenOthers() {
        #expect(Ownership(uid: 1001, gid: 1001, mode: 0o600).allowsReading(by: alice))
        #expect(!Ownership(uid: 1001, gid: 1001, mode: 0o060).allowsReading(by: alice), "the owner's bits decide for the owner")
        #expect(Ownership(uid: 0, gid: 2000, mode: 0o640).allowsReading(by: alice), "a supplementary group lets her in")
        #expect(!Ownership(uid: 0, gid: 2000, mode: 0o604).allowsReading(by: alice), "the group's bits decide for a member")
        #expect(!Ownership(uid: 0, gid: 0, mode: 0o640).allowsReading(by: alice))
        #expect(Ownership(uid: 0, gid: 0, mode: 0o644).allowsReading(by: alice))
        #expect(Ownership(uid: 5, gid: 5, mode: 0o000).allowsReading(by: root))
    }

    @Test func onlyTheOwnerOrRootChanges() {
        #expect(Ownership(uid: 1001, gid: 0, mode: 0o000).allowsChanging(by: alice))
        #expect(!Ownership(uid: 0, gid: 1001, mode: 0o777).allowsChanging(by: alice))
        #expect(Ownership(uid: 1001, gid: 0, mode: 0o000).allowsChanging(by: root))
    }
}
